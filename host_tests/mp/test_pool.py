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
    return (p.num_used, bytes(p.buffer), tuple(mptest.state(s) for s in p.slabs))


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


def test_bad_calls_raise_and_change_nothing():
    p = pool(checked=True)
    p.alloc(10)
    p.alloc(100)
    before = state(p)
    for call, arg, exc in (
        (p.alloc, 300, ValueError),
        (p.alloc, -1, ValueError),
        (p.alloc, 1.5, TypeError),
        (p.alloc, None, TypeError),
        (p.free, None, TypeError),
        (p.free, "1", TypeError),
        (p.free, 7, ValueError),
        (p.free, -1, ValueError),
        (p.free, 1, ValueError),  # a free 16-byte block
        (p.free, 4, ValueError),  # a free 64-byte block: never freed into class 0
        (p.size_of, 9, ValueError),
        (p.view, 3, ValueError),
    ):
        e = raises(exc, call, arg)
        eq(state(p), before, "after %r(%r): %s" % (call, arg, e))
    e = raises(ValueError, p.alloc, 300)
    if "256" not in str(e):
        raise AssertionError("the error must name the largest class: %s" % e)
    e = raises(ValueError, p.free, 4)
    if "free(4)" not in str(e) or "64-byte" not in str(e):
        raise AssertionError("the error must speak in pool handles: %s" % e)


def test_the_default_mode_still_catches_the_head_double_free():
    p = pool()
    h = p.alloc(60)
    p.free(h)
    before = state(p)
    raises(ValueError, p.free, h)
    eq(state(p), before, "unchanged")


def test_bad_classes():
    raises(TypeError, MemPool, 5)
    raises(ValueError, MemPool, ())
    raises(TypeError, MemPool, ((16,),))
    raises(TypeError, MemPool, ((16.0, 4),))
    raises(ValueError, MemPool, ((10, 4),))
    raises(ValueError, MemPool, ((16, 4), (16, 2)))
    buf = bytearray(64)
    raises(ValueError, MemPool, ((16, 2), (6, 2)), buf)
    eq(buf, bytearray(64), "a refused pool never touched the caller's buffer")
    eq(pool(((64, 1), (16, 2))).sizes, (16, 64), "classes are sorted")


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


def test_stats_and_dump():
    p = pool()
    p.alloc(10)
    p.alloc(100)
    st = p.stats()
    eq(
        (st["num_used"], st["num_free"], st["allocated_bytes"], st["free_bytes"]),
        (2, 5, 16 + 256, 16 * 3 + 64 * 2),
        "totals",
    )
    eq([c["num_used"] for c in st["classes"]], [1, 0, 1], "per class")
    d = p.dump()
    for part in ("3 classes", "class 1: 64-byte blocks, handles 4..5", "4 blocks x 16 bytes"):
        if part not in d:
            raise AssertionError("dump lacks %r:\n%s" % (part, d))
    if "MemPool" not in repr(p):
        raise AssertionError(repr(p))


def test_long_int_handles_free_without_the_heap():
    from array import array

    p = pool()
    h = p.alloc(100)
    big = array("q", [h])[0]
    micropython.heap_lock()
    try:
        p.free(big)
    finally:
        micropython.heap_unlock()
    eq(p.num_used, 0, "freed through an array('q') handle")


def test_pool_messages_speak_in_pool_terms():
    p = pool(checked=True)
    e = raises(ValueError, p.view, 4)
    if "view(4)" not in str(e):
        raise AssertionError(str(e))
    e = raises(ValueError, MemPool, CLASSES, bytearray(100))
    if "need 448 bytes" not in str(e):
        raise AssertionError(str(e))
    raises(TypeError, p.alloc_async, 10, "5")  # refused at the call, not at the await
    raises(ValueError, p.alloc_async, 300)
