"""Every bad input gets a clear error and leaves the slab exactly as it was."""
# memslab-test: small-heap
# memslab-test: small-heap-source

import mptest
from memslab import MemSlab
from mptest import eq, raises, slab, state

COMPILED = True  # run on engine="compiled" too (run.py)


def _ctor(*args, **kw):
    kw.setdefault("engine", mptest.ENGINE)
    return mptest.got_engine(MemSlab(*args, **kw), kw["engine"])


def test_block_size_must_be_an_int_multiple_of_4_and_at_least_4():
    raises(TypeError, _ctor, 16.0, 4)
    raises(TypeError, _ctor, "16", 4)
    for bad in (0, 1, 2, 3, 5, 6, 10, -4):
        e = raises(ValueError, _ctor, bad, 4)
        if "multiple of 4" not in str(e):
            raise AssertionError(str(e))
    e = raises(ValueError, _ctor, 10, 4)
    if "try 12" not in str(e):
        raise AssertionError("message should suggest the fix: " + str(e))


def test_num_blocks_must_be_an_int_of_at_least_1():
    raises(TypeError, _ctor, 16, 4.0)
    raises(TypeError, _ctor, 16, None)
    raises(ValueError, _ctor, 16, 0)
    raises(ValueError, _ctor, 16, -1)


def test_unknown_engine():
    e = raises(ValueError, MemSlab, 16, 4, engine="turbo")
    if "'auto', 'viper', 'python' or 'compiled'" not in str(e):
        raise AssertionError(str(e))


def test_caller_buffer_must_be_a_buffer():
    raises(TypeError, _ctor, 16, 4, buffer=[0] * 64)
    raises(TypeError, _ctor, 16, 4, buffer=64)


def test_caller_buffer_must_be_writable():
    e = raises(ValueError, _ctor, 16, 4, buffer=bytes(64))
    if "read-only" not in str(e):
        raise AssertionError(str(e))


def test_caller_buffer_must_be_large_enough():
    e = raises(ValueError, _ctor, 16, 4, buffer=bytearray(63))
    if "63 bytes" not in str(e) or "need 64" not in str(e):
        raise AssertionError(str(e))


def test_caller_buffer_must_be_4_byte_aligned():
    buf = bytearray(80)
    e = raises(ValueError, _ctor, 16, 4, buffer=memoryview(buf)[1:])
    if "multiple of 4" not in str(e):
        raise AssertionError(str(e))
    eq(buf, bytearray(80), "a rejected buffer is not written")


def _busy():
    s = slab(16, 4)
    a = s.alloc()
    b = s.alloc()
    s.alloc()
    s.free(b)
    s.free(a)  # head is a; b is free too; one block used
    return s, a, b


def test_free_of_wrong_type_raises_type_error_and_changes_nothing():
    s, a, b = _busy()
    before = state(s)
    for bad in (None, "1", 1.0, b"\x01", True, [1]):
        raises(TypeError, s.free, bad)
        eq(state(s), before, "after free(%r)" % (bad,))


def test_free_out_of_range_raises_value_error_and_changes_nothing():
    s, a, b = _busy()
    before = state(s)
    for bad in (-1, 4, 5, -(2**31), 2**31, 2**32, 2**32 + 2, 2**64 + 2, -(2**64) + 2):
        e = raises(ValueError, s.free, bad)
        if "0..3" not in str(e):
            raise AssertionError(str(e))
        eq(state(s), before, "after free(%r)" % bad)


def test_free_of_the_block_freed_last_is_a_double_free():
    s, a, b = _busy()
    before = state(s)
    e = raises(ValueError, s.free, a)
    if "already free" not in str(e) and "not allocated" not in str(e):
        raise AssertionError(str(e))
    eq(state(s), before, "after the double free")


def test_free_on_an_empty_slab_is_a_double_free():
    s = slab(16, 4)
    before = state(s)
    for h in range(4):
        raises(ValueError, s.free, h)
    eq(state(s), before, "nothing allocated, nothing freed")
    h = s.alloc()
    s.free(h)
    raises(ValueError, s.free, h)
    eq(s.num_used, 0, "num_used never goes negative (zephyr#96560)")


def test_view_rejects_bad_handles():
    s, a, b = _busy()
    before = state(s)
    raises(TypeError, s.view, None)
    raises(ValueError, s.view, 4)
    raises(ValueError, s.view, -1)
    eq(state(s), before, "view changes nothing")


def test_none_from_alloc_gets_a_hint():
    s = slab(16, 1)
    s.alloc()
    h = s.alloc()
    e = raises(TypeError, s.view, h)
    if "empty" not in str(e):
        raise AssertionError(str(e))


def test_free_of_none_gets_the_same_hint_on_every_engine():
    s = slab(16, 2)
    s.alloc()
    for bad, words in (
        (None, ("NoneType", "alloc() returns None")),
        (1.5, ("float",)),
        ("1", ("str",)),
        (b"1", ("bytes",)),
    ):
        e = raises(TypeError, s.free, bad)
        for w in words:
            if w not in str(e) or "block index" not in str(e):
                raise AssertionError("free(%r): %s" % (bad, e))


def test_alloc_async_names_timeout_ms():
    s = slab(16, 2)
    for bad in ("10", 1.5, b"1", [1]):
        e = raises(TypeError, s.alloc_async, bad)  # refused at the call, even with blocks free
        if "timeout_ms" not in str(e):
            raise AssertionError("alloc_async(%r): %s" % (bad, e))
    e = raises(ValueError, s.alloc_async, 2**70)
    if "timeout_ms" not in str(e) or "None" not in str(e):
        raise AssertionError(str(e))
    eq(s.num_used, 0, "nothing allocated by a refused call")


def test_a_slab_too_large_for_any_board_is_a_memory_error_that_says_why():
    for bs, n in ((64, 1 << 28), (1 << 31, 1), (2**70, 4), (4, (1 << 30) - 1)):
        e = raises(MemoryError, _ctor, bs, n)
        if "2**31" not in str(e):
            raise AssertionError("MemSlab(%d, %d): %s" % (bs, n, e))


def _grow_until_it_moves(buf):
    """Extend buf until the heap moves its bytes (bounded: it must move)."""
    import uctypes

    at = uctypes.addressof(buf)
    for _ in range(64):
        buf.extend(bytes(256))
        if uctypes.addressof(buf) != at:
            return
    raise AssertionError("the bytearray never moved: this test cannot show the guard")


def test_a_resized_buffer_is_reported_not_used():
    for own in (False, True):
        buf = None if own else bytearray(64)
        s = slab(16, 4, buffer=buf)
        h = s.alloc()
        _grow_until_it_moves(s.buffer if own else buf)
        for call, args in ((s.view, (h,)), (s.dump, ()), (s.views, ()), (s.free, (h + 1,))):
            e = raises(RuntimeError, call, *args)
            if "resized" not in str(e):
                raise AssertionError(str(e))
