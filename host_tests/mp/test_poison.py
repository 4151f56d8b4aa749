"""checked=True poisons free blocks: a write after free is refused, and every
engine names the first byte that lost the poison. (Apart from test_checked.py:
a source install on a 64K heap compiles a test module whole, and these tests
also load _explain and _picture.)"""
# memslab-test: small-heap
# memslab-test: small-heap-source

from memslab import SlabCorruptedError
from mptest import eq, raises, slab, state

COMPILED = True  # run on engine="compiled" too (run.py): its default-mode checks


def test_checked_poisons_free_blocks_and_reports_write_after_free():
    s = slab(16, 3, checked=True)
    h = s.alloc()
    s.free(h)
    eq(bytes(s.buffer[h * 16 + 4 : h * 16 + 16]), b"\x3a" * 12, "poison after free")
    s.buffer[h * 16 + 9] = 0  # write after free
    before = state(s)
    e = raises(SlabCorruptedError, s.alloc)
    if "block %d" % h not in str(e) or "byte 9 " not in str(e):
        raise AssertionError(str(e))
    eq(state(s), before, "a refused alloc changes nothing")


def test_a_write_after_free_over_several_bytes_names_the_first():
    """Issue 20: viper named the first broken word, python the last; every
    engine names the first byte that lost the poison, as dump() does."""
    s = slab(32, 3, checked=True)
    h = s.alloc()
    s.free(h)
    for i in (27, 6, 13, 31):
        s.buffer[h * 32 + i] = 0
    e = raises(SlabCorruptedError, s.alloc)
    if "block %d" % h not in str(e) or "byte 6 " not in str(e):
        raise AssertionError(str(e))
    if "POISON BROKEN at byte 6]" not in s.dump():
        raise AssertionError(s.dump())
