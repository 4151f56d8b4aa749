"""dump() and repr(): the picture of a slab, capped for large ones."""
# memslab-test: small-heap

from mptest import eq, slab


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
