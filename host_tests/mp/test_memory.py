"""What a slab costs on the heap: its blocks plus a constant, whatever num_blocks is."""
# memslab-test: small-heap

import gc

from mptest import eq, raises, slab


def _heap_cost(block_size, num_blocks, **kw):
    gc.collect()
    before = gc.mem_free()
    s = slab(block_size, num_blocks, **kw)
    gc.collect()
    cost = before - gc.mem_free()
    del s
    return cost


def test_overhead_is_the_same_for_16_and_2048_blocks():
    gc.collect()
    n = 2048 if gc.mem_free() > 100000 else 512  # a 64K heap is too cut up for 8K in one piece
    large = _heap_cost(4, n) - 4 * n  # the big one first, while the heap is least cut up
    small = _heap_cost(4, 16) - 4 * 16
    print("overhead beyond the blocks: %d bytes at 16 blocks, %d at %d" % (small, large, n))
    eq(small, large, "overhead must not grow with num_blocks")
    if small > 1024:
        raise AssertionError("overhead %d bytes is more than a handful of fields" % small)


def test_caller_buffer_costs_only_the_overhead():
    buf = bytearray(4 * 512)
    gc.collect()
    before = gc.mem_free()
    s = slab(4, 512, buffer=buf)
    gc.collect()
    cost = before - gc.mem_free()
    if cost > 1024:
        raise AssertionError("a slab over a caller buffer took %d bytes" % cost)
    eq(s.num_free, 512, "")


def test_checked_mode_costs_one_bit_per_block():
    plain = _heap_cost(4, 1024)
    checked = _heap_cost(4, 1024, checked=True)
    extra = checked - plain
    if not 1024 // 8 <= extra <= 1024 // 8 + 32:
        raise AssertionError("checked mode took %d extra bytes for 1024 blocks" % extra)


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
    del hog
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
