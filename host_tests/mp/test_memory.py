"""What a slab costs on the heap: its blocks plus a constant, whatever num_blocks is."""
# memslab-test: small-heap
# memslab-test: small-heap-source

import gc

import mptest
from mptest import eq, raises, slab

COMPILED = True  # run on engine="compiled" too (run.py)

ROUNDS = 5  # measurements per size; the median is taken


def _limit():
    """What one slab may cost beyond its blocks. A compiled slab's machine code
    sits in the GC heap on some ports (rp2): its two functions, about 1.2 KB."""
    return 4096 if mptest.ENGINE == "compiled" else 1024


def _heap_cost(block_size, num_blocks, **kw):
    """Heap bytes one new slab keeps, measured once (collections on both sides)."""
    gc.collect()
    before = gc.mem_alloc()
    s = slab(block_size, num_blocks, **kw)
    gc.collect()
    cost = gc.mem_alloc() - before
    del s
    return cost


def _overhead(sizes, **kw):
    """Median heap cost beyond the blocks, per (block_size, num_blocks) in sizes.

    One measurement can be off by a GC block or two whatever the slab does: the
    collector scans the C stack conservatively, so a stale pointer there can keep
    a garbage object alive across one gc.collect() and not the next (on a board
    whose RAM sits at or above 2**31 every uctypes.addressof() is such an object,
    a heap big int). The sizes are measured in turn, ROUNDS times, and the median
    of each is what a slab costs. Results go into a list made up front: a list
    growing between measurements would settle in the hole a freed slab left and
    cut up the room the next big one needs (on a 64K heap it then does not fit).
    """
    k = len(sizes)
    got = [0] * (k * ROUNDS)
    _heap_cost(sizes[0][0], sizes[0][1], **kw)  # first construction: one-off allocations
    for r in range(ROUNDS):
        for i in range(k):
            bs, n = sizes[i]
            got[i * ROUNDS + r] = _heap_cost(bs, n, **kw) - bs * n
    out = [0] * k
    for i in range(k):
        g = got[i * ROUNDS : (i + 1) * ROUNDS]
        g.sort()
        out[i] = g[ROUNDS // 2]
    return out


def _fitting(candidates, measure):
    """(n, measure(n)) for the first n in candidates whose slabs fit the heap."""
    for n in candidates:
        try:
            return n, measure(n)
        except MemoryError:  # a small heap, cut up: try fewer blocks
            gc.collect()
    raise AssertionError("not even %d blocks fit the heap" % candidates[-1])


def test_overhead_is_the_same_for_16_and_2048_blocks():
    # As many blocks as the heap has room for in one piece (a 64K heap with the
    # test module compiled has 4K, not 8K): the more blocks, the smaller the
    # per-block cost that shows.
    n, (small, large) = _fitting((2048, 1024, 512), lambda n: _overhead(((4, 16), (4, n))))
    print("overhead beyond the blocks: %d bytes at 16 blocks, %d at %d" % (small, large, n))
    # A cost per block of even one bit adds (n - 16) / 8 bytes at n blocks (less
    # GC rounding, under one GC block). Half of that is the most the medians may
    # differ: any per-block cost still fails, a stray object does not.
    if abs(large - small) > (n - 16) // 16:
        raise AssertionError(
            "overhead grows with num_blocks: %d bytes at 16 blocks, %d at %d" % (small, large, n)
        )
    if small > _limit():
        raise AssertionError("overhead %d bytes is more than a handful of fields" % small)


def test_caller_buffer_costs_only_the_overhead():
    buf = bytearray(4 * 512)
    # The first slab of an engine loads its module (python's is lazy), the
    # first over a caller's buffer memslab/_buffer.py (its check): not counted.
    slab(4, 1, buffer=bytearray(4))
    gc.collect()
    before = gc.mem_free()
    s = slab(4, 512, buffer=buf)
    gc.collect()
    cost = before - gc.mem_free()
    if cost > _limit():
        raise AssertionError("a slab over a caller buffer took %d bytes" % cost)
    eq(s.num_free, 512, "")


def test_checked_mode_costs_one_bit_per_block():
    # engine="compiled" with checked=True builds the viper pair: compare like with like
    like = {"engine": "viper"} if mptest.ENGINE == "compiled" else {}

    def both(n):
        return _overhead(((4, n),), **like)[0], _overhead(((4, n),), checked=True)[0]

    n, (plain, checked) = _fitting((1024, 512), both)
    extra = checked - plain
    if not n // 8 <= extra <= n // 8 + 32:
        raise AssertionError("checked mode took %d extra bytes for %d blocks" % (extra, n))


def test_a_slab_that_does_not_fit_fails_at_construction():
    gc.collect()
    too_big = gc.mem_free() + 4096
    raises(MemoryError, slab, 16, too_big // 16)
    s = slab(16, 64)  # and the heap is still usable
    for _ in range(64):
        if s.alloc() is None:
            raise AssertionError("a slab that fitted ran out early")
    eq(s.alloc(), None, "")


def test_alloc_never_raises_memory_error_when_heap_is_exhausted():
    import micropython

    s = slab(16, 8)
    hog = []
    try:
        while True:
            hog.append(bytearray(256))
    except MemoryError:
        pass
    micropython.heap_lock()
    try:
        for _ in range(8):
            if s.alloc() is None:
                raise AssertionError("slab lost a block with a full heap")
        ok = s.alloc() is None
    finally:
        micropython.heap_unlock()
    # Empty the list before dropping it: a stale pointer to it on the C stack
    # (the GC scans it conservatively) would otherwise keep the whole heap full
    # for the tests that run after this one in the same process.
    hog.clear()
    del hog
    gc.collect()
    eq(ok, True, "ninth alloc")


def _bytes_allocated_by_pairs(s, pairs):
    """Heap bytes that `pairs` rounds of alloc, alloc, free, free asked for.

    micropython.mem_total() counts every allocation, even one freed at once
    (an oversized bytecode frame is: gc.mem_alloc() would not see it). A port
    built without it falls back to mem_alloc() with the collector off.
    """
    import micropython

    total = getattr(micropython, "mem_total", gc.mem_alloc)
    s.free(s.alloc())  # warm up: first calls may fill lookup caches
    gc.collect()
    gc.disable()
    try:
        before = total()
        for _ in range(pairs):
            a = s.alloc()
            b = s.alloc()
            s.free(a)
            s.free(b)
        return total() - before
    finally:
        gc.enable()


def test_alloc_and_free_allocate_nothing_in_every_mode():
    # heap_lock() alone would not catch it: a bytecode frame over 11 words is
    # taken from the heap when it can be and from the C stack when it cannot.
    for kw in ({}, {"checked": True}, {"threadsafe": True}, {"checked": True, "threadsafe": True}):
        took = _bytes_allocated_by_pairs(slab(16, 8, **kw), 200)
        eq(took, 0, "bytes allocated by 200 rounds with %r" % (kw,))
