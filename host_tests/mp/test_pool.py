"""MemPool: size classes over slabs, on the engine under test, plain and checked."""
# memslab-test: small-heap

import micropython
import uctypes

import mptest
from memslab import MemPool
from mptest import eq, raises

CLASSES = ((16, 4), (64, 2), (256, 1))


def pool(classes=CLASSES, **kw):
    kw.setdefault("engine", mptest.ENGINE)
    return MemPool(classes, **kw)


def state(p):
    # The pool's buffer holds every class's blocks: copied once (mptest.state(s)
    # per class would copy each part again, and a 64K heap may have no room).
    return (
        p.num_used,
        bytes(p.buffer),
        tuple((s.num_used, s.num_free, s.max_used, mptest.words(s._st)) for s in p.slabs),
    )


def test_handles_say_their_class():
    for checked in (False, True):
        p = pool(checked=checked)
        eq(p.num_blocks, 7, "blocks")
        h = p.alloc(12)
        eq((h, p.size_of(h)), (0, 16), "a 12-byte message gets a 16-byte block")
        h = p.alloc(40)
        eq((h, p.size_of(h)), (4, 64), "40 bytes: the 64-byte class, handles from 4")
        h = p.alloc(256)
        eq((h, p.size_of(h)), (6, 256), "exactly the largest class")
        eq(p.alloc(0), 1, "0 bytes: the smallest class")
        eq(len(p.view(4)), 64, "view is the whole block")


def test_falls_back_to_larger_classes_then_none():
    p = pool()
    got = [p.alloc(10) for _ in range(7)]
    eq(got, [0, 1, 2, 3, 4, 5, 6], "16s, then 64s, then the 256")
    eq((p.alloc(1), p.num_used, p.num_free), (None, 7, 0), "exhausted")
    p.free(5)
    eq(p.alloc(200), None, "200 bytes fit only the 256 class, which is full")
    eq(p.alloc(64), 5, "the freed 64-byte block")


def test_free_returns_to_the_right_class():
    p = pool()
    hs = [p.alloc(16), p.alloc(60), p.alloc(200)]
    for h in hs:
        p.free(h)
    eq([s.num_used for s in p.slabs], [0, 0, 0], "every class empty again")
    eq(p.alloc(60), 4, "LIFO within the 64-byte class")


def test_one_contiguous_aligned_buffer():
    p = pool()
    base = uctypes.addressof(p.buffer)
    eq(len(p.buffer), 16 * 4 + 64 * 2 + 256, "one buffer for all classes")
    eq(base & 3, 0, "4-byte aligned")
    eq(p.addressof(4), base + 64, "class 1 starts after class 0's blocks")
    eq(p.addressof(6), base + 64 + 128, "class 2 after class 1's")


def test_a_callers_buffer_is_validated_and_used():
    buf = bytearray(64 * 2 + 16 * 4 + 256)
    p = pool(buffer=buf)
    h = p.alloc(200)
    p.view(h)[0] = 7
    eq(buf[16 * 4 + 64 * 2], 7, "the 256-byte block is at the end of the caller's buffer")
    raises(ValueError, MemPool, CLASSES, bytearray(100))
    raises(ValueError, MemPool, CLASSES, bytes(448))


def test_alloc_and_free_allocate_nothing():
    p = pool()
    got = [0, 0, 0, 0]
    micropython.heap_lock()
    try:
        got[0] = p.alloc(12)
        got[1] = p.alloc(100)
        p.free(got[0])
        p.free(got[1])
        got[2] = p.alloc(300 - 100)
        p.free(got[2])
        try:
            p.free(got[2])  # a refused free raises a prebuilt error
        except ValueError:
            got[3] = 1
    finally:
        micropython.heap_unlock()
    eq(got, [0, 6, 6, 1], "alloc, free and a refused free under heap lock")
    eq(p.num_used, 0, "all back")


def test_alloc_and_free_ask_the_heap_for_nothing():
    # heap_lock() alone would not show it: a bytecode frame over 11 words comes
    # from the heap when it can (and from the C stack when the heap is locked).
    import gc

    total = getattr(micropython, "mem_total", gc.mem_alloc)
    for checked in (False, True):
        p = pool(checked=checked)
        for n in (12, 40, 200, 0):  # warm up every path once
            p.free(p.alloc(n))
        gc.collect()
        gc.disable()
        try:
            before = total()
            for _ in range(50):
                a = p.alloc(12)
                b = p.alloc(40)
                c = p.alloc(200)
                p.free(b)
                p.free(a)
                p.free(c)
            took = total() - before
        finally:
            gc.enable()
        eq(took, 0, "bytes the pool asked for in 50 rounds, checked=%s" % checked)


def test_the_machine_code_pair_serves_a_viper_pool():
    # The pool's own viper pair (not a fallback that would pass every other
    # test, slower): on viper, default mode (threadsafe: inside the guard);
    # checked=True and the python engine get the python pair (_pool._pair),
    # as does a port where the viper pair's checks fail (_viper.FAST = False
    # forces that).
    from memslab import _viper

    for kw in ({}, {"checked": True}, {"threadsafe": True}):
        p = pool(**kw)
        fast = mptest.ENGINE != "python" and _viper is not None and _viper.FAST
        fast = fast and not kw.get("checked")
        # the machine code's state is an array("I"); the python pair counts in a list
        eq(p._st.__class__ is not list, fast, "machine code for %r" % kw)
