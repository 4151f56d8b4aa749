"""The firmware author's toolkit: block(), used(), stats(), addressof(), reset(), help().

alloc_wait() (threads) is in test_wait.py, block_async() in test_async_loops.py.
"""
# memslab-test: small-heap

import micropython
import sys
import uctypes

import memslab
import mptest
from memslab import MemSlab, SlabCorruptedError, SlabEmptyError
from mptest import eq, poke_word, raises, slab, state

COMPILED = True  # run on engine="compiled" too (run.py)

# -- with slab.block() as h


def test_block_frees_on_exit():
    s = slab(16, 2)
    with s.block() as h:
        eq((h, s.num_used), (0, 1), "inside")
    eq(s.num_used, 0, "after")


def test_block_frees_on_an_exception():
    s = slab(16, 2)
    try:
        with s.block() as h:
            eq(s.num_used, 1, "inside")
            raise KeyError(h)
    except KeyError:
        pass
    eq(s.num_used, 0, "the exception did not leak the block")


def test_block_on_an_empty_slab_is_a_memory_error():
    s = slab(16, 1)
    s.alloc()
    before = state(s)
    e = raises(SlabEmptyError, s.block().__enter__)
    if not isinstance(e, MemoryError) or "free one" not in str(e):
        raise AssertionError(repr(e))
    try:
        with s.block():
            raise AssertionError("the body ran without a block")
    except MemoryError:
        pass
    eq(state(s), before, "nothing changed")


def test_block_works_checked():
    s = slab(16, 2, checked=True)
    with s.block() as h:
        s.view(h)[0] = 1
    raises(ValueError, s.view, h)  # freed: checked mode refuses a view


# -- used()


def test_used_lists_the_allocated_blocks_in_both_modes():
    for checked in (False, True):
        s = slab(8, 6, checked=checked)
        hs = [s.alloc() for _ in range(5)]
        s.free(hs[1])
        s.free(hs[3])
        eq(s.used(), [0, 2, 4], "checked=%s" % checked)
        eq(slab(8, 3, checked=checked).used(), [], "fresh slab")


def test_used_reports_a_broken_list_in_the_default_mode():
    s = slab(8, 4)
    s.alloc()
    poke_word(s, 1, 0, 99)
    e = raises(SlabCorruptedError, s.used)
    if "reset" not in str(e):
        raise AssertionError(str(e))


# -- stats()


def test_stats_in_blocks_and_bytes():
    s = slab(32, 5)
    a = s.alloc()
    s.alloc()
    s.alloc()
    s.free(a)
    eq(
        s.stats(),
        {
            "block_size": 32,
            "num_blocks": 5,
            "num_used": 2,
            "num_free": 3,
            "max_used": 3,
            "allocated_bytes": 64,
            "free_bytes": 96,
            "max_allocated_bytes": 96,
        },
        "stats",
    )


# -- addressof(h)


def test_addressof_is_the_block_start():
    s = slab(16, 4)
    base = uctypes.addressof(s.buffer)
    for h in range(4):
        eq(s.addressof(h), base + 16 * h, "block %d" % h)
    raises(ValueError, s.addressof, 4)
    raises(TypeError, s.addressof, None)
    st = uctypes.struct(s.addressof(2), {"a": uctypes.UINT32 | 0, "b": uctypes.UINT8 | 4})
    st.a = 0x01020304
    st.b = 9
    eq(bytes(s.buffer[32:37]), b"\x04\x03\x02\x01\x09", "uctypes.struct over block 2")


def test_addressof_allocates_nothing_where_the_address_is_a_small_int():
    s = slab(16, 4)
    if uctypes.addressof(s.buffer) + 64 > sys.maxsize >> 1:  # beyond the small ints
        raise mptest.SkipTest("RAM above the small ints here (RV32, ESP32-P4): addresses allocate")
    got = [0, 0]
    s.addressof(0)  # the first use of a method loads it (README: before enabling interrupts)
    micropython.heap_lock()
    try:
        got[0] = s.addressof(1)
        got[1] = s.addressof(3)
    finally:
        micropython.heap_unlock()
    eq(got[1] - got[0], 32, "two addresses under heap lock")


# -- reset(owned)


def test_reset_recovers_from_corruption():
    for checked in (False, True):
        s = slab(16, 4, checked=checked)
        a, b = s.alloc(), s.alloc()
        poke_word(s, 2, 0, 0x41414141)  # block 2 is the head now
        raises(SlabCorruptedError, s.alloc)
        raises(SlabCorruptedError, s.alloc)  # and keeps refusing
        s.reset((a, b))
        eq((s.num_used, s.num_free), (2, 2), "counters fixed")
        eq(sorted([s.alloc(), s.alloc()]), [2, 3], "the other blocks come back")
        eq(s.alloc(), None, "and no more")
        eq(s.used(), [0, 1, 2, 3], "used")


def test_reset_with_nothing_owned_frees_everything():
    s = slab(16, 3, checked=True)
    for _ in range(3):
        s.alloc()
    s.reset()
    eq((s.num_used, s.max_used), (0, 3), "all free; max_used kept as a high-water mark")
    eq([s.alloc() for _ in range(3)], [0, 1, 2], "ascending, as a new slab")
    eq(bytes(s.buffer[4:16]), b"\x3a" * 12, "free blocks were poisoned again")


def test_reset_rejects_bad_entries_and_changes_nothing():
    s = slab(16, 4)
    s.alloc()
    before = state(s)
    for owned, exc in (
        ((0, 4), ValueError),
        ((0, -1), ValueError),
        ((0, 0), ValueError),
        ((0, None), TypeError),
        ((0, True), TypeError),
        ((0, 1.0), TypeError),
        (5, TypeError),
        (None, TypeError),
    ):
        e = raises(exc, s.reset, owned)
        if "reset(owned)" not in str(e):
            raise AssertionError("%r: %s" % (owned, e))
        eq(state(s), before, "after reset(%r)" % (owned,))


# -- help() and editors see alloc and free


def test_alloc_and_free_are_visible_on_the_class():
    # The methods beyond the hot path are loaded by the first use of any of
    # them (MemSlab.__getattr__): from then on they are on the class.
    s = slab(16, 2)
    s.stats()
    for name in ("alloc", "free", "block", "used", "stats", "addressof", "reset", "alloc_wait"):
        if not hasattr(MemSlab, name):
            raise AssertionError("MemSlab.%s missing" % name)
    eq(MemSlab.alloc(s), 0, "the class method calls the instance's")
    MemSlab.free(s, 0)
    eq(s.num_used, 0, "freed through the class")
    eq(memslab.SlabEmptyError.__name__, "SlabEmptyError", "exported")


def test_an_unknown_attribute_is_still_an_attribute_error():
    s = slab(16, 2)
    e = raises(AttributeError, getattr, s, "no_such_thing")
    eq(str(e), "'MemSlab' object has no attribute 'no_such_thing'", "the usual text")
    eq(hasattr(s, "no_such_thing"), False, "hasattr")
    eq(getattr(s, "no_such_thing", 7), 7, "getattr with a default")
    eq(hasattr(s, "views"), True, "a method from _methods.py")


def test_used_sees_a_list_that_ends_too_early():
    for checked in (False, True):
        s = slab(8, 4, checked=checked)
        poke_word(s, 0, 0, 4)  # block 0 (the head) now says "end": blocks 1..3 are lost
        if checked:
            eq(s.used(), [], "checked mode reads its bitmap: exact")
            continue
        raises(SlabCorruptedError, s.used)
        if "end after 1 of 4 free blocks" not in s.dump():
            raise AssertionError(s.dump())


def test_addressof_refuses_a_resized_buffer():
    buf = bytearray(64)
    s = mptest.got_engine(MemSlab(16, 4, buf, engine=mptest.ENGINE), mptest.ENGINE)
    at = uctypes.addressof(buf)
    for _ in range(64):
        buf.extend(bytes(256))
        if uctypes.addressof(buf) != at:
            break
    raises(RuntimeError, s.addressof, 0)
