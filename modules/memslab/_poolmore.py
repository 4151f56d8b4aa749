"""MemPool's methods beyond construction, the counters, size_of, view, addressof and the hot path.

Loaded by MemPool.__getattr__ the first time a program uses any of them,
which attaches them all to the class: from then on they are plain methods
(help() and dir() show them), as MemSlab's _methods.py does. A pool that
only allocs and frees never pays for this code (on a board, code loaded
from .mpy sits in the heap). The first use allocates (the import): call
views() and the rest once before enabling interrupts. Waiting is in
_poolasync.py, the picture in _poolpicture.py, the messages in
_poolexplain.py.
"""

from micropython import const

from . import SlabEmptyError
from ._pool import MemPool

_T = const(6)  # the pool's state words (_poolviper.py)
_TB = const(7)
_PEAK = const(8)
_PEAKB = const(9)


# The hot path: _poolbuild sets each pool's own alloc and free on the
# instance (machine code, or _poolpython's closures), which shadow these
# two; they are here for help().
def alloc(self, n):
    """A handle to a block of at least n bytes, or None when no class can serve it.

    Takes the smallest class that fits and has a free block, falling back
    to larger classes. n larger than the largest class is a ValueError.
    Heap-free: legal in a hard IRQ.
    """
    return self.alloc(n)


def free(self, h):
    """Give block h back; a bad h raises TypeError/ValueError and changes nothing."""
    return self.free(h)


def block(self, n):
    """`with pool.block(n) as h:` a block of at least n bytes, freed when the
    with-block exits. SlabEmptyError, a MemoryError, when none is free."""
    self._check_not_moved()
    return Block(self, n)


def alloc_async(self, n, timeout_ms=None):
    """Awaitable: a handle to a block of at least n bytes, waiting while none is free.

    Waits for a block of the smallest class that fits (first come, first
    served among that class's waiters); None on timeout. n and timeout_ms
    are checked at the call, as MemSlab.alloc_async does.
    """
    self._check_not_moved()
    from . import _poolasync

    return _poolasync.alloc_async(self, n, timeout_ms, False)


def block_async(self, n, timeout_ms=None):
    """`async with pool.block_async(n, timeout_ms) as h:` waits like
    alloc_async, frees h on exit; asyncio.TimeoutError when the time passes."""
    self._check_not_moved()
    from . import _poolasync

    return _poolasync.alloc_async(self, n, timeout_ms, True)


def dump(self, limit=48):
    """Every class's picture, in pool handles. Allocates: not for IRQs."""
    self._check_not_moved()
    from . import _poolpicture

    return _poolpicture.dump(self, limit)


def _repr(pool):
    return "<MemPool %s used=%d/%d engine=%s>" % (
        "+".join("%dx%d" % (s.num_blocks, s.block_size) for s in pool.slabs),
        pool.num_used,
        pool.num_blocks,
        pool.engine,
    )


def views(pool):
    """One memoryview per block, indexed by handle, built on the first call.

    Build it before enabling interrupts; then `pool.views()[h]` is a plain
    tuple lookup that an interrupt handler may use."""
    if pool._views:
        return pool._views
    pool._check_not_moved()
    mv = memoryview(pool.buffer)
    out = []
    o = 0
    for s in pool.slabs:
        bs = s.block_size
        for _ in range(s.num_blocks):
            out.append(mv[o : o + bs])
            o += bs
    pool._views = tuple(out)
    return pool._views


def used(pool):
    """The handles of the allocated blocks, ascending (a leak report). Allocates."""
    pool._check_not_moved()
    out = []
    for c in range(len(pool.slabs)):
        f = pool.first[c]
        out += [f + h for h in pool.slabs[c].used()]
    return out


def sync(pool, peaks=True):
    """Set the pool's counts to what its classes hold now; raise (peaks=True)
    or set (peaks=False) its peaks to them."""
    st = pool._st
    st[_T] = pool.num_used
    st[_TB] = sum(s.num_used * s.block_size for s in pool.slabs)
    st[_PEAK] = max(st[_T], st[_PEAK] if peaks else 0)
    st[_PEAKB] = max(st[_TB], st[_PEAKB] if peaks else 0)


def reset_max(pool):
    """Set max_used (the pool's and every class's) to what is in use now."""
    pool._check_not_moved()
    sync(pool, False)
    for s in pool.slabs:
        s.reset_max()


def stats(pool):
    """Totals in blocks and bytes (peaks pool-wide), each class's stats() under "classes"."""
    pool._check_not_moved()
    per = [s.stats() for s in pool.slabs]
    used = pool.num_used
    out = {
        "num_blocks": pool.num_blocks,
        "num_used": used,
        "num_free": pool.num_blocks - used,
        "max_used": pool._st[_PEAK],
        "max_allocated_bytes": pool._st[_PEAKB],
    }
    for k in ("allocated_bytes", "free_bytes"):
        out[k] = sum(p[k] for p in per)
    out["classes"] = per
    return out


class Block:
    """The context manager of MemPool.block(n)."""

    def __init__(self, pool, n):
        if n.__class__ is not int or n < 0 or n > pool.sizes[-1]:
            pool._refuse(n, "block")
        self.pool = pool
        self.n = n
        self.h = None

    def __enter__(self):
        if self.h is not None:  # nested in itself: it would lose the outer block
            raise RuntimeError(
                "MemPool.block(%d): this block object is in use; call pool.block(n) again "
                "for a second block" % self.n
            )
        h = self.pool.alloc(self.n)
        if h is None:
            raise SlabEmptyError(
                "MemPool.block(%d): no block of %d bytes or more is free; free one, or wait "
                "with block_async()" % (self.n, self.n)
            )
        self.h = h
        return h

    def __exit__(self, *exc):
        h = self.h
        self.h = None
        self.pool.free(h)
        return False


_NAMES = (
    "alloc",
    "free",
    "views",
    "used",
    "reset_max",
    "stats",
    "block",
    "alloc_async",
    "block_async",
    "dump",
    "_repr",
)
_g = globals()
for _name in _NAMES:
    setattr(MemPool, _name, _g[_name])
del _g, _name


def attr(pool, name):
    """What MemPool.__getattr__ returns, now that the methods are on the class:
    the attribute, or the AttributeError a class without __getattr__ would raise."""
    if name in _NAMES:
        return getattr(pool, name)
    raise AttributeError("'%s' object has no attribute '%s'" % (type(pool).__name__, name))
