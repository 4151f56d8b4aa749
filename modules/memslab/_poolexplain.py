"""MemPool's explanations: why a handle, a size or a pool was refused, in words.

Loaded on a pool's first error only (by MemPool._refuse, which raises a
prebuilt error of the same type where the heap is locked).
"""


def why(pool, x, verb, c):
    """Why verb refused x: a block of class c not allocated (c >= 0), else a
    bad size (alloc, block and their async twins) or a bad handle."""
    if c >= 0:
        return not_allocated(pool, x, c, verb)
    if verb[:5] in ("alloc", "block"):
        return bad_size(pool, x, verb)
    return bad_handle(pool, x, verb)


def moved():
    return (
        "the pool's buffer was resized after MemPool() was built, and its bytes "
        "moved: the pool is unusable. Never resize a pool's buffer; build a new MemPool"
    )


def bad_handle(pool, h, verb):
    if h is ...:  # free() called with no argument (its default)
        return "MemPool.free(h): pass the handle that alloc() returned"
    if h.__class__ is not int:
        hint = " (alloc() returns None when no block fits)" if h is None else ""
        return "MemPool.%s(h): h is a handle (int) from alloc(), got %s%s" % (
            verb,
            type(h).__name__,
            hint,
        )
    return "MemPool.%s(%d): no such block; this pool has handles 0..%d" % (
        verb,
        h,
        pool.num_blocks - 1,
    )


def not_allocated(pool, h, c, verb):
    return (
        "MemPool.%s(%d): that %d-byte block is not allocated (already freed, or never "
        "from alloc())" % (verb, h, pool.sizes[c])
    )


def bad_size(pool, n, verb):
    if n.__class__ is not int:
        return "MemPool.%s(n): n is an int number of bytes, got %s" % (verb, type(n).__name__)
    return "MemPool.%s(%d): n is 0..%d, the largest class; add a class or split the message" % (
        verb,
        n,
        pool.sizes[-1],
    )
