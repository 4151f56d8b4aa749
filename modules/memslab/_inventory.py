"""Which blocks are in use, and starting over: MemSlab.used() and MemSlab.reset().

Loaded on the first call. Both work on the shared layout (_layout.py), so
they serve either engine; both allocate and are not for IRQ handlers.
"""

from ._errors import SlabCorruptedError, handle_error_type, words
from ._layout import BITS, HEAD, MAX, POISON, USED, WAIT, WPB


def used(slab):
    """The allocated block indices, ascending, as a list: the slab at one instant.

    Walking the live free list would meet blocks that a scheduled callback (or,
    on a threadsafe slab, another thread) allocs and frees meanwhile, and see a
    list broken that is not. So the state and every block's link word are
    copied first, with no jump in between (a callback runs only at a jump) and
    inside the threadsafe guard, then walked. Without the guard a hard IRQ or
    the other core can still change the slab during the copy; the state,
    copied again after it, shows that (unless put back as it was within those
    microseconds), and the copy is taken again.
    """
    from struct import unpack_from

    n = slab.num_blocks
    bs = slab.block_size
    # Each block's first word, the rest skipped: one C call reads every link.
    fmt = "<" if slab.checked else "<%dI" % n if bs == 4 else "<" + ("I%dx" % (bs - 4)) * n
    enter, exit = slab._section
    for _ in range(8):
        g = enter()
        try:
            st = bytearray(slab._st)  # from here ...
            links = unpack_from(fmt, slab.buffer)
            again = bytearray(slab._st)  # ... to here: no jump
        finally:
            exit(g)
        if st == again:
            return _listed(slab, st, links)
    raise RuntimeError(
        "used(): the slab changed during each of 8 copies (another thread, core or a "
        "hard IRQ allocs and frees on it without threadsafe=True); call it again, or "
        "build the slab with threadsafe=True"
    )


def _listed(slab, st, links):
    """used() from a copy: the state `st` and every block's link `links`."""
    n = slab.num_blocks
    if slab.checked:  # the bitmap is exact
        return [h for h in range(n) if (st[BITS + (h >> 3)] >> (h & 7)) & 1]
    sw = words(st, 12)
    nfree = n - sw[USED]
    free = bytearray((n + 7) >> 3)
    i = sw[HEAD]
    count = 0
    while i != n:
        if i > n:
            end = "0x%08X (corrupt link!)" % i
            break
        if count >= nfree:
            end = "%d ... (more links than free blocks: corrupt!)" % i
            break
        free[i >> 3] |= 1 << (i & 7)
        count += 1
        i = links[i]
    else:
        if count == nfree:
            return [h for h in range(n) if not (free[h >> 3] >> (h & 7)) & 1]
        end = "end after %d of %d free blocks (corrupt!)" % (count, nfree)
    raise SlabCorruptedError(
        "used(): the free list is broken at %s; slab.reset(owned) rebuilds it" % end
    )


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
    count += _keep_handed(slab, keep)
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


def _keep_handed(slab, keep):
    """Blocks already handed to a waiter that has not yet picked them up stay allocated
    (nobody can list them in `owned`). Returns how many were added to `keep`."""
    q = slab._waiters
    if q is None:
        return 0
    added = 0
    ring = q.handed
    w = ring.next
    while w is not ring and not w.sentinel:
        h = w.h
        if h >= 0 and not (keep[h >> 3] >> (h & 7)) & 1:
            keep[h >> 3] |= 1 << (h & 7)
            added += 1
        w = w.next if w.next is not w else ring.next
    return added


def _rebuild(slab, keep, count):
    """Link every block not in `keep` in ascending order (as build() does)."""
    n = slab.num_blocks
    sw = slab._sw
    wpb = sw[WPB]
    b = words(slab.buffer, n * wpb)
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
