"""MemPool in asyncio: `await pool.alloc_async(n)`, `async with pool.block_async(n)`.

Loaded on the first call (never by `import memslab`); the waiting itself is
each class's (MemSlab.alloc_async, _async.py and _waitq.py).
"""

from ._errors import check_timeout


def alloc_async(pool, n, timeout_ms, block):
    """MemPool.alloc_async()/block_async(): n and timeout_ms checked at the call."""
    verb = "block_async" if block else "alloc_async"
    check_timeout(verb, timeout_ms)
    if n.__class__ is not int or n < 0 or n > pool.sizes[-1]:
        pool._refuse(n, verb)
    if block:
        return AsyncBlock(pool, n, timeout_ms)
    return _alloc_async(pool, n, timeout_ms)


async def _alloc_async(pool, n, timeout_ms):
    h = pool.alloc(n)
    if h is not None:
        return h
    c = 0
    while pool.sizes[c] < n:
        c += 1
    h = await pool.slabs[c].alloc_async(timeout_ms)
    if h is None:
        return None
    from . import _poolmore

    _poolmore.sync(pool)  # the class took it (or was handed it): count it, towards the peaks too
    return pool.first[c] + h


class AsyncBlock:
    """`async with pool.block_async(n, timeout_ms) as h:` frees h when the block exits."""

    def __init__(self, pool, n, timeout_ms):
        self.pool = pool
        self.n = n
        self.timeout_ms = timeout_ms
        self.h = None

    async def __aenter__(self):
        h = await _alloc_async(self.pool, self.n, self.timeout_ms)
        if h is None:
            import asyncio

            raise asyncio.TimeoutError()
        self.h = h
        return h

    async def __aexit__(self, *exc):
        h = self.h
        self.h = None
        self.pool.free(h)
        return False
