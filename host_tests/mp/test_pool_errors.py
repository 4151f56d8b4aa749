"""MemPool refuses bad input in its own terms and changes nothing."""
# memslab-test: small-heap

import micropython

import mptest
from memslab import MemPool
from mptest import eq, raises

CLASSES = (
    (16, 4),
    (64, 2),
    (256, 1),
)  # as in test_pool.py (not imported: a 64K heap compiles one module at a time)


def pool(classes=CLASSES, **kw):
    kw.setdefault("engine", mptest.ENGINE)
    return MemPool(classes, **kw)


def state(p):
    # The pool's buffer holds every class's blocks: copied once, not again per
    # class (mptest.state(s) would: on a 64K heap every copy counts).
    return (
        p.num_used,
        bytes(p.buffer),
        tuple((s.num_used, s.num_free, s.max_used, mptest.words(s._st)) for s in p.slabs),
    )


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
        (p.block, 300, ValueError),
    ):
        e = raises(exc, call, arg)
        if state(p) != before:  # (the closure's repr is long: formatted only on failure)
            raise AssertionError("after %r(%r): %s: the pool changed" % (call, arg, e))
    e = raises(ValueError, p.alloc, 300)
    if "256" not in str(e):
        raise AssertionError("the error must name the largest class: %s" % e)
    e = raises(ValueError, p.free, 4)
    if "free(4)" not in str(e) or "64-byte" not in str(e):
        raise AssertionError("the error must speak in pool handles: %s" % e)


def test_bad_waits_raise_and_change_nothing():
    # Apart from the calls above: each test runs in a process of its own, and
    # on a 64K heap the waiting code (_poolasync) needs room those calls' modules took.
    p = pool(checked=True)
    p.alloc(10)
    p.alloc(100)
    before = state(p)
    for call, arg in ((p.alloc_async, 300), (p.block_async, -1)):
        e = raises(ValueError, call, arg)
        if state(p) != before:
            raise AssertionError("after %r(%r): %s: the pool changed" % (call, arg, e))
    raises(TypeError, p.alloc_async, 10, "5")  # refused at the call, not at the await


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
