"""Which blocks are in use, and starting over: MemSlab.used() and MemSlab.reset().

Loaded on the first call. Both work on the shared layout (_layout.py), so
they serve either engine; both allocate and are not for IRQ handlers.
"""

from ._errors import SlabCorruptedError, handle_error_type
from ._layout import BITS, HEAD, MAX, POISON, USED, WAIT, WPB
from ._python import words


def used(slab):
    """The allocated block indices, ascending, as a list."""
    n = slab.num_blocks
    if slab.checked:
        return [h for h in range(n) if slab._is_used(h)]
    free = bytearray((n + 7) >> 3)
    end = slab._walk(free, 0)[2]
    if end != "end":
        raise SlabCorruptedError(
            "used(): the free list is broken at %s; slab.reset(owned) rebuilds it" % end
        )
    return [h for h in range(n) if not (free[h >> 3] >> (h & 7)) & 1]


def reset(slab, owned):
    """Rebuild the free list with exactly `owned` allocated; then serve waiters."""
    n = slab.num_blocks
    keep = bytearray((n + 7) >> 3)
    count = 0
    try:
        owned = tuple(owned)
    except TypeError:
        raise TypeError(
            "reset(owned): owned is a list or tuple of block indices, got %s"
            % type(owned).__name__
        )
    for h in owned:  # every entry checked before anything changes
        exc = handle_error_type(h, n)
        if exc is TypeError:
            raise TypeError(
                "reset(owned): every entry is a block index (int), got %s" % type(h).__name__
            )
        if exc is ValueError:
            raise ValueError("reset(owned): no block %d; this slab has blocks 0..%d" % (h, n - 1))
        if (keep[h >> 3] >> (h & 7)) & 1:
            raise ValueError("reset(owned): block %d is listed twice" % h)
        keep[h >> 3] |= 1 << (h & 7)
        count += 1
    enter, exit = slab._section
    s = enter()
    try:
        _rebuild(slab, keep, count)
    finally:
        exit(s)
    # Waiting tasks/threads come first: hand them the free blocks, oldest first.
    # A free() on a slab with waiters hands the block over (see _waitq.py).
    while slab._sw[WAIT] > 0:
        h = slab.alloc()
        if h is None:
            break
        slab.free(h)


def _rebuild(slab, keep, count):
    """Link every block not in `keep` in ascending order (as build() does)."""
    n = slab.num_blocks
    sw = slab._sw
    wpb = sw[WPB]
    b = words(slab._buf, n * wpb)
    head = n
    for h in range(n - 1, -1, -1):  # backwards, so the list ascends from the head
        if (keep[h >> 3] >> (h & 7)) & 1:
            continue
        o = h * wpb
        b[o] = head
        head = h
        if slab.checked:
            for k in range(o + 1, o + wpb):
                b[k] = POISON
    if slab.checked:
        for i in range(len(keep)):
            slab._st[BITS + i] = keep[i]
    sw[HEAD] = head
    sw[USED] = count
    sw[MAX] = max(count, min(sw[MAX], n))
