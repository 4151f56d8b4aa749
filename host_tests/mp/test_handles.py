"""Handles and buffers as users bring them: long-int handles, one-item typed
arrays, views() from a hard IRQ (issue 10's promises, on the engine under test)."""
# memslab-test: small-heap
# memslab-test: small-heap-source

import micropython
from array import array

import mptest
from mptest import eq, slab

COMPILED = True  # run on engine="compiled" too (run.py)


def test_views_call_allocates_nothing_after_the_first():
    s = slab(8, 3)
    s.views()  # built here, before "interrupts"
    micropython.heap_lock()
    try:
        v = s.views()[2]  # the call itself, in a hard IRQ
        v[0] = 9
    finally:
        micropython.heap_unlock()
    eq(s.buffer[16], 9, "written through views()[2]")


def test_free_accepts_an_equal_long_int_handle():
    # array('q')/('Q') hand back an int object that is not the small int
    # itself; it is the same block index and must free that block.
    for code in ("q", "Q"):
        s = slab(16, 4)
        h = s.alloc()
        s.alloc()
        box = array(code, [h])
        s.free(box[0])
        eq((s.num_used, s.alloc()), (1, h), "array(%r) handle freed block %d" % (code, h))
        s.free(h)
        before = mptest.state(s)
        mptest.raises(ValueError, s.free, array(code, [h])[0])  # now a double free
        eq(mptest.state(s), before, "refused long-int double free changes nothing")
    s = slab(16, 4)
    h = s.alloc()
    big = array("q", [h])[0]  # made before the lock: reading an array('q') allocates
    micropython.heap_lock()
    try:
        s.free(big)  # in a hard IRQ, as a handle kept in an array('q')
    finally:
        micropython.heap_unlock()
    eq(s.num_used, 0, "freed under heap lock")


def test_free_still_refuses_bools_floats_strings_and_big_ints():
    s = slab(16, 4)
    s.alloc()
    s.alloc()
    before = mptest.state(s)
    for bad in (True, False, 1.0, "1", 2**64 + 1, 2**32 + 1, -(2**64) + 1):
        try:
            s.free(bad)
        except (TypeError, ValueError):
            pass
        else:
            raise AssertionError("free(%r) accepted" % (bad,))
        eq(mptest.state(s), before, "after free(%r)" % (bad,))


def test_a_one_item_typed_array_is_a_buffer_of_its_bytes():
    for code, size in (("I", 4), ("i", 4), ("d", 8), ("q", 8), ("Q", 8), ("h", 2)):
        arr = array(code, [0])
        for buf in (arr, memoryview(arr)):
            if size < 4:
                e = mptest.raises(ValueError, mptest.MemSlab, 4, 1, buf, engine=mptest.ENGINE)
                if "holds %d bytes" % size not in str(e):
                    raise AssertionError(str(e))
                continue
            s = mptest.got_engine(
                mptest.MemSlab(4, size // 4, buf, engine=mptest.ENGINE), mptest.ENGINE
            )
            eq([s.alloc() for _ in range(size // 4)], list(range(size // 4)), code)
