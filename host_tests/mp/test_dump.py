"""dump() and repr(): the picture of a slab, capped for large ones."""
# memslab-test: small-heap
# memslab-test: small-heap-source

from mptest import eq, poke_word, raises, slab


def test_dump_draws_blocks_and_chain():
    s = slab(16, 4)
    a = s.alloc()
    s.alloc()
    s.alloc()
    s.free(a)  # free list: 0 -> 3 -> end
    d = s.dump()
    for part in ("4 blocks x 16 bytes", "[0:free->3]", "[1:used]", "[2:used]", "[3:free->end]"):
        if part not in d:
            raise AssertionError("dump lacks %r:\n%s" % (part, d))
    if "head -> 0 -> 3 -> end" not in d:
        raise AssertionError("dump lacks the chain:\n" + d)
    if "MemSlab" not in repr(s):
        raise AssertionError(repr(s))


def test_dump_of_a_large_slab_is_capped():
    s = slab(4, 500)
    for _ in range(3):
        s.alloc()
    d = s.dump(limit=12)
    eq(len(d.split("\n")), 2 + 2 + 1 + 1, "header, 12 cells in 2 rows, '... more', chain")
    if "488 more blocks" not in d or "(485 more)" not in d or not d.endswith("-> end"):
        raise AssertionError(d)


def test_dump_limit_must_be_a_non_negative_int():
    s = slab(16, 4)
    for bad in (-1, -100):
        raises(ValueError, s.dump, bad)
    for bad in (1.5, "3", None):
        raises(TypeError, s.dump, bad)
    eq(s.dump(0).split("\n")[-1], "free list: head -> ... (4 more) -> end", "limit 0")


def test_checked_dump_draws_free_blocks_past_a_corrupt_link_as_free():
    s = slab(16, 6, checked=True)
    hs = [s.alloc() for _ in range(6)]
    for h in hs:
        s.free(h)  # list: 5 -> 4 -> 3 -> 2 -> 1 -> 0 -> end
    poke_word(s, 4, 0, 0x41414141)  # the walk stops at block 4
    d = s.dump()
    for h in range(6):
        if "[%d:free" % h not in d:
            raise AssertionError("block %d drawn as used:\n%s" % (h, d))
    if "0x41414141 (corrupt link!)" not in d:
        raise AssertionError(d)


def test_checked_dump_flags_a_block_whose_poison_is_broken():
    s = slab(16, 3, checked=True)
    h = s.alloc()
    s.free(h)
    s.buffer[h * 16 + 9] = 0
    d = s.dump()
    cells = [c for c in d.replace("]", "[").split("[") if ":free" in c]
    eq(len(cells), 3, "three free blocks drawn:\n" + d)
    for c in cells:
        broken = c.endswith("POISON BROKEN at byte 9")
        eq(broken, c.startswith("%d:" % h), "only block %d is flagged: %s" % (h, d))
