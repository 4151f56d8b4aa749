"""Buffers, views and the heap-free hot path on the engine under test (mptest.ENGINE)."""
# memslab-test: small-heap
# memslab-test: small-heap-source

import micropython
import uctypes

from mptest import eq, slab

COMPILED = True  # run on engine="compiled" too (run.py)


def test_caller_bytearray_is_used_in_place():
    buf = bytearray(64)
    s = slab(16, 4, buffer=buf)
    h = s.alloc()
    s.view(h)[:] = b"\xab" * 16
    eq(bytes(buf[h * 16 : h * 16 + 16]), b"\xab" * 16, "write seen in the caller's buffer")
    eq(uctypes.addressof(s.buffer), uctypes.addressof(buf), "same memory")


def test_caller_buffer_may_be_larger_and_a_memoryview_or_array():
    import array

    buf = bytearray(100)
    s = slab(16, 4, buffer=memoryview(buf)[4:])
    eq(len(s.buffer), 64, "slab uses exactly its bytes")
    eq([s.alloc() for _ in range(5)], [0, 1, 2, 3, None], "4 blocks")
    arr = array.array("i", [0] * 16)  # 64 bytes in 16 items
    s = slab(16, 4, buffer=arr)
    h = s.alloc()
    s.view(h)[0:4] = b"\x07\x00\x00\x00"
    eq(arr[h * 4], 7, "array item under block %d" % h)


def test_views_are_cached_and_match_view():
    s = slab(8, 3)
    vs = s.views()
    eq(len(vs), 3, "one view per block")
    if s.views() is not vs:
        raise AssertionError("views() must be built once")
    for h in range(3):
        eq(uctypes.addressof(vs[h]), uctypes.addressof(s.buffer) + 8 * h, "view %d" % h)


def test_hot_path_allocates_nothing():
    s = slab(16, 4)
    vs = s.views()
    got = [0, 0, 0]  # filled by index: append would allocate
    micropython.heap_lock()
    try:
        for i in range(3):
            h = s.alloc()
            vs[h][0] = h
            got[i] = s.num_used + s.num_free + s.max_used
            s.free(h)
        a = s.alloc()
        b = s.alloc()
        s.free(a)
        s.free(b)
        s.reset_max()
    finally:
        micropython.heap_unlock()
    eq(got, [5, 5, 5], "counters under heap lock")
    eq((s.num_used, s.max_used), (0, 0), "after the locked run")


def test_bad_free_under_heap_lock_raises_the_right_type():
    s = slab(16, 4)
    h = s.alloc()
    s.free(h)
    micropython.heap_lock()
    try:
        try:
            s.free(h)
            err = None
        except ValueError as e:
            err = e
    finally:
        micropython.heap_unlock()
    if err is None:
        raise AssertionError("double free under heap lock not detected")


def test_single_block_and_minimum_block_size():
    s = slab(4, 1)
    h = s.alloc()
    eq((h, s.alloc()), (0, None), "one block of 4 bytes")
    s.view(h)[:] = b"\xff\xff\xff\xff"  # the user owns the whole block, link word included
    s.free(h)
    eq(s.alloc(), 0, "reuse")


def test_many_cycles_keep_counts_consistent():
    s = slab(8, 7)
    held = []
    x = 12345
    for step in range(3000):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        if held and (x >> 8) % 3 == 0:
            s.free(held.pop((x >> 4) % len(held)))
        else:
            h = s.alloc()
            if h is None:
                eq(len(held), 7, "None only when full")
            else:
                if h in held:
                    raise AssertionError("block %d handed out twice" % h)
                held.append(h)
        eq(s.num_used, len(held), "num_used at step %d" % step)
