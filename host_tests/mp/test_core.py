"""Core behaviour of MemSlab on the engine under test (mptest.ENGINE)."""
# memslab-test: small-heap
# memslab-test: small-heap-source

import uctypes

import mptest
from mptest import eq, slab

COMPILED = True  # run on engine="compiled" too (run.py)


def test_engine_is_the_one_asked_for():
    eq(slab().engine, mptest.ENGINE, "engine")


def test_counts_step_by_step():
    s = slab(16, 4)
    eq((s.block_size, s.num_blocks), (16, 4), "geometry")
    got = []
    for i in range(4):
        eq((s.num_used, s.num_free), (i, 4 - i), "before alloc %d" % i)
        got.append(s.alloc())
    eq((s.num_used, s.num_free, s.max_used), (4, 0, 4), "full")
    for i, h in enumerate(got):
        s.free(h)
        eq((s.num_used, s.num_free, s.max_used), (3 - i, 1 + i, 4), "after free %d" % i)


def test_exhaustion_returns_none_and_changes_nothing():
    s = slab(16, 3)
    hs = [s.alloc() for _ in range(3)]
    eq(sorted(hs), [0, 1, 2], "every block handed out once")
    before = mptest.state(s)
    eq(s.alloc(), None, "alloc on a full slab")
    eq(s.alloc(), None, "again")
    eq(mptest.state(s), before, "state after failed allocs")


def test_first_allocations_ascend():
    s = slab(8, 5)
    eq([s.alloc() for _ in range(5)], [0, 1, 2, 3, 4], "first-use order")


def test_lifo_reuse():
    s = slab(16, 4)
    hs = [s.alloc() for _ in range(4)]
    for h in (2, 0, 3):
        s.free(h)
    eq([s.alloc(), s.alloc(), s.alloc()], [3, 0, 2], "freed last, handed out first")
    eq(hs, [0, 1, 2, 3], "initial")


def test_max_used_and_reset_max():
    # Zephyr's mslab_stats sequence: alloc 3, free 2, alloc 1, reset, free 2.
    s = slab(64, 8)
    hs = [s.alloc() for _ in range(3)]
    eq(s.max_used, 3, "after 3 allocs")
    s.free(hs.pop())
    s.free(hs.pop())
    eq((s.num_used, s.max_used), (1, 3), "after 2 frees")
    hs.append(s.alloc())
    eq((s.num_used, s.max_used), (2, 3), "after 1 alloc")
    s.reset_max()
    eq(s.max_used, 2, "reset_max sets max_used to num_used")
    for h in hs:
        s.free(h)
    eq((s.num_used, s.max_used), (0, 2), "after freeing all")


def test_layout_block_h_starts_at_buffer_plus_h_times_block_size():
    s = slab(12, 6)
    base = uctypes.addressof(s.buffer)
    eq(base % 4, 0, "buffer alignment")
    eq(len(s.buffer), 12 * 6, "buffer length")
    for _ in range(6):
        h = s.alloc()
        eq(uctypes.addressof(s.view(h)), base + h * 12, "address of block %d" % h)
        eq(len(s.view(h)), 12, "view length")


def test_data_in_allocated_blocks_is_untouched_by_the_free_list():
    s = slab(16, 6)
    hs = [s.alloc() for _ in range(6)]
    for h in hs:
        v = s.view(h)
        for i in range(16):
            v[i] = (h * 16 + i) & 0xFF
    for h in (1, 3, 5):  # freeing neighbours writes links into *their* first word only
        s.free(h)
    for h in (0, 2, 4):
        eq(bytes(s.view(h)), bytes((h * 16 + i) & 0xFF for i in range(16)), "block %d" % h)
    for _ in range(3):
        s.alloc()
    for h in (0, 2, 4):
        eq(bytes(s.view(h)), bytes((h * 16 + i) & 0xFF for i in range(16)), "block %d" % h)


def test_free_list_lives_in_the_first_word_of_free_blocks():
    s = slab(8, 4)
    a = s.alloc()
    b = s.alloc()
    s.free(a)
    s.free(b)  # list: b -> a -> 2 -> 3 -> end(4)
    words = [int.from_bytes(bytes(s.buffer[i * 8 : i * 8 + 4]), "little") for i in range(4)]
    eq(words, [2, 0, 3, 4], "link words")


def test_a_viper_slab_says_which_pair_it_got():
    if mptest.ENGINE != "viper":
        return
    from memslab import _viper

    fallback = mptest.FALLBACK  # conftest's "fallback" variant (never on a board)
    if mptest.RECOMPILED:  # conftest's "recompiled" variant: its own machine code
        eq(_viper.RECOMPILED, "MEMSLAB_VIPER_RECOMPILE=1", "compiled at run time")
    for kw in ({}, {"checked": True}):
        slab(16, 4, **kw)
        want = "python: FAST is False" if fallback else "fast"
        eq(_viper.PATH, want, "pair built for %r" % kw)
