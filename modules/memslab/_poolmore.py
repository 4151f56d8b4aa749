"""What some programs ask of a MemPool: views, used, stats, reset_max, block, repr.

Loaded on the first such call (MemPool._more(), which first checks that the
pool's buffer has not moved), never by the hot path. Waiting is in
_poolasync.py, the picture in _poolpicture.py, the messages in _poolexplain.py.
"""

from micropython import const

from . import SlabEmptyError

_T = const(6)  # the pool's state words (_poolviper.py)
_TB = const(7)
_PEAK = const(8)
_PEAKB = const(9)


def describe(pool):
    return "<MemPool %s used=%d/%d engine=%s>" % (
        "+".join("%dx%d" % (s.num_blocks, s.block_size) for s in pool.slabs),
        pool.num_used,
        pool.num_blocks,
        pool.engine,
    )


def views(pool):
    """MemPool.views(): one memoryview per block, indexed by handle, kept."""
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
    """MemPool.used(): the allocated handles, ascending."""
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
    sync(pool, False)
    for s in pool.slabs:
        s.reset_max()


def stats(pool):
    """MemPool.stats(): totals (peaks pool-wide) and each class's own stats()."""
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
