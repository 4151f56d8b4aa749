"""checked=True: one bit per block catches every double free and poisons free blocks.
Both modes: a corrupted link is reported by alloc(), never handed out."""
# memslab-test: small-heap
# memslab-test: small-heap-source

import micropython

from memslab import SlabCorruptedError
from mptest import eq, poke_word, raises, slab, state

COMPILED = True  # run on engine="compiled" too (run.py): its default-mode checks


def test_checked_catches_every_double_free():
    s = slab(16, 6, checked=True)
    hs = [s.alloc() for _ in range(6)]
    for h in (1, 3, 5):
        s.free(h)
    before = state(s)
    for h in (1, 3, 5):  # not only the head of the list
        e = raises(ValueError, s.free, h)
        if "not allocated" not in str(e):
            raise AssertionError(str(e))
        eq(state(s), before, "after double free of %d" % h)
    eq(len(hs), 6, "")


def test_checked_catches_free_of_a_never_allocated_block():
    s = slab(16, 6, checked=True)
    s.alloc()
    before = state(s)
    for h in (1, 2, 5):
        raises(ValueError, s.free, h)
    eq(state(s), before, "")


def test_default_mode_misses_deeper_double_free_but_catches_head_and_empty():
    s = slab(16, 4)
    a, b = s.alloc(), s.alloc()
    s.free(a)
    s.free(b)
    raises(ValueError, s.free, b)  # the head: caught at zero cost
    eq(s.num_used, 0, "")
    raises(ValueError, s.free, a)  # nothing is allocated: caught too


def test_checked_view_of_a_free_block_is_refused():
    s = slab(16, 3, checked=True)
    h = s.alloc()
    s.view(h)
    s.free(h)
    raises(ValueError, s.view, h)


def _corrupt_head_link(checked, value):
    s = slab(16, 4, checked=checked)
    s.alloc()  # block 0 used; head is 1, linking to 2
    poke_word(s, 1, 0, value)
    before = state(s)
    e = raises(SlabCorruptedError, s.alloc)
    if "block 1" not in str(e):
        raise AssertionError("error must name the block: " + str(e))
    eq(state(s), before, "refused alloc changes nothing")
    e = raises(SlabCorruptedError, s.alloc)  # and keeps refusing
    return s


def test_link_out_of_range_is_detected_in_both_modes():
    for checked in (False, True):
        for value in (5, 1000, -1, 0x7FFFFFFF, 0x80000000):
            _corrupt_head_link(checked, value)


def test_checked_detects_a_link_to_an_allocated_block():
    _corrupt_head_link(True, 0)  # block 0 is allocated


def test_corrupted_list_never_hands_out_a_wrong_block():
    for checked in (False, True):
        s = slab(8, 8, checked=checked)
        held = [s.alloc() for _ in range(3)]
        for h in held:
            s.free(h)
        poke_word(s, 7, 0, 99)  # the tail links to garbage
        got = []
        try:
            for _ in range(9):
                h = s.alloc()
                if h is None:
                    break
                got.append(h)
        except SlabCorruptedError as e:
            if "block 7" not in str(e):
                raise AssertionError(str(e))
        else:
            raise AssertionError("corruption not detected")
        eq(sorted(got), list(range(7)), "every block before the bad link, once")


def test_dump_shows_a_corrupt_chain():
    s = slab(8, 4)
    poke_word(s, 1, 0, 77)
    d = s.dump()
    if "corrupt" not in d:
        raise AssertionError(d)


ANY_ENGINE = ("test_dump_shows_a_corrupt_chain",)


# -- 32-bit boards: a link or poison word >= 2**30 is a heap big int there once
# Python code reads it; in a hard IRQ (heap locked) that was a MemoryError.
# These values are small ints on the x64 host, so the host run proves the
# error type and the message; boards (make test-board) prove the no-boxing.
WIDE = (0x40000000, 0x41414141, 0x7FFFFFFF, 0x80000000, 0xBFFFFFFF, 0xFFFFFFFF)


def _alloc_locked(s):
    """alloc() with the heap locked, as in a hard IRQ: the exception it raised."""
    micropython.heap_lock()
    try:
        s.alloc()
    except Exception as e:  # noqa: BLE001 - the type is checked by the caller
        return e
    finally:
        micropython.heap_unlock()
    return None


def test_wide_link_in_a_hard_irq_is_slab_corrupted_not_memory_error():
    for checked in (False, True):
        for value in WIDE:
            s = slab(16, 4, checked=checked)
            s.alloc()
            poke_word(s, 1, 0, value)
            before = state(s)
            e = _alloc_locked(s)
            eq(type(e), SlabCorruptedError, "link 0x%08X, checked=%s: %r" % (value, checked, e))
            eq(state(s), before, "refused alloc changes nothing")


def test_wide_poison_word_in_a_hard_irq_is_slab_corrupted_not_memory_error():
    for value in WIDE:
        s = slab(16, 4, checked=True)
        h = s.alloc()
        s.free(h)
        poke_word(s, h, 2, value)
        before = state(s)
        e = _alloc_locked(s)
        eq(type(e), SlabCorruptedError, "poison word 0x%08X: %r" % (value, e))
        eq(state(s), before, "refused alloc changes nothing")


def test_a_wide_link_reads_the_same_on_every_target():
    for value, text in (
        (0xFFFFFFFF, "0xFFFFFFFF"),
        (0x80000000, "0x80000000"),
        (77, "0x0000004D"),
    ):
        s = slab(16, 4)
        s.alloc()
        poke_word(s, 1, 0, value)
        e = raises(SlabCorruptedError, s.alloc)
        if text not in str(e) or "block 1" not in str(e):
            raise AssertionError("want %s in: %s" % (text, e))


def test_default_mode_never_hands_out_more_blocks_than_it_has():
    # free(b); free(a); free(b) is a double free the default mode cannot see
    # (b is not the head): the list becomes b -> a -> b -> ... From then on
    # blocks may get two owners, but num_used never passes num_blocks: alloc()
    # raises once every block is counted as used while the list goes on.
    s = slab(16, 4)
    for _ in range(4):
        s.alloc()
    s.free(1)
    s.free(0)
    s.free(1)  # not caught: block 1 is not the head
    got = []
    try:
        for _ in range(20):
            got.append(s.alloc())
    except SlabCorruptedError as e:
        if "freed twice" not in str(e):
            raise AssertionError(str(e))
    else:
        raise AssertionError("alloc kept handing out blocks: %r" % got)
    if len(got) > 3 or None in got:
        raise AssertionError("handed out %r from a slab with 3 blocks free by the count" % got)
    if not 0 <= s.num_used <= s.num_blocks:
        raise AssertionError("num_used %d of %d" % (s.num_used, s.num_blocks))
    before = state(s)
    eq(type(_alloc_locked(s)), SlabCorruptedError, "in a hard IRQ too")
    eq(state(s), before, "refused alloc changes nothing")


def test_default_mode_link_to_an_allocated_block_stops_at_num_blocks():
    s = slab(16, 4)
    s.alloc()  # block 0 used; the list is 1 -> 2 -> 3 -> end
    poke_word(s, 3, 0, 0)  # 3 now links to block 0, which is allocated
    got = []
    try:
        for _ in range(20):
            h = s.alloc()
            if h is None:
                break
            got.append(h)
    except SlabCorruptedError:
        pass
    else:
        raise AssertionError("alloc kept handing out blocks: %r" % got)
    if s.num_used > s.num_blocks or s.num_free < 0:
        raise AssertionError("num_used %d of %d" % (s.num_used, s.num_blocks))
