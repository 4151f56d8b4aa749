"""engine="compiled": a viper pair compiled per slab, or the viper pair and the reason why not.

The modules with COMPILED = True run on it like on every engine; these
tests check what is its own: which pair a slab got, that every build-time
check falls back to the viper pair, and that compiled slabs keep to their own
state. They run once ("any" engine), as they choose their engines themselves.
"""
# memslab-test: small-heap

import sys

import memslab
import mptest
from memslab import MemSlab
from mptest import drain, eq, raises

ANY_ENGINE = (
    "test_a_compiled_slab_says_which_pair_it_got",
    "test_checked_mode_gets_the_viper_pair",
    "test_the_compiled_engine_leaves_the_heap_after_each_build",
    "test_a_compile_that_fails_falls_back_to_the_viper_pair",
    "test_a_pair_that_takes_the_wrong_block_is_never_used",
    "test_a_pair_that_frees_into_the_wrong_word_is_never_used",
    "test_addresses_at_or_above_2_to_the_30_are_written_as_small_ints",
    "test_closures_laid_out_otherwise_are_never_used",
    "test_compiled_slabs_keep_to_their_own_state",
    "test_without_viper_compiled_says_why",
)


def _needs_viper():
    if not mptest.COMPILED:
        raise mptest.SkipTest("no viper engine on this port")
    from memslab import _compiled

    return _compiled


def test_a_compiled_slab_says_which_pair_it_got():
    c = _needs_viper()
    s = MemSlab(16, 4, engine="compiled")
    eq((s.engine, c.PATH), ("compiled", "compiled"), "the pair built")
    eq(drain(s), [0, 1, 2, 3], "handed out")
    eq(repr(s)[-16:], "engine=%s>" % s.engine, "repr")


def test_the_compiled_engine_leaves_the_heap_after_each_build():
    """Its module is code the built slab no longer needs (3.4 KB of a Pico's
    heap): each build loads it and drops it again, unless the program had
    imported it (then it stays, as any module would); COMPILED_ERROR says
    what the build did either way."""
    _needs_viper()
    pkg = "memslab._compiled"
    saved = sys.modules.pop(pkg)
    delattr(memslab, "_compiled")
    try:
        for kw in ({}, {"checked": True}, {}):
            s = MemSlab(16, 4, engine="compiled", **kw)
            eq(pkg in sys.modules or hasattr(memslab, "_compiled"), False, "loaded after %r" % kw)
            why = "checked=True uses the viper pair" if kw else None
            eq((s.engine, memslab.COMPILED_ERROR), ("viper" if kw else "compiled", why), "%r" % kw)
            eq(drain(s), [0, 1, 2, 3], "the slab works")
        from memslab import _compiled  # the program imports it: it stays

        MemSlab(16, 4, engine="compiled")
        eq(sys.modules.get(pkg), _compiled, "kept")
    finally:
        sys.modules[pkg] = saved
        memslab._compiled = saved


def test_checked_mode_gets_the_viper_pair():
    c = _needs_viper()
    s = MemSlab(16, 4, engine="compiled", checked=True)
    eq((s.engine, c.PATH), ("viper", "viper: checked=True uses the viper pair"), "pair")
    eq(s.alloc(), 0, "and it works")


def _with_source(c, src):
    real = c._SRC
    c._SRC = src
    try:
        return MemSlab(16, 4, engine="compiled"), c.PATH
    finally:
        c._SRC = real


def test_a_compile_that_fails_falls_back_to_the_viper_pair():
    c = _needs_viper()
    s, why = _with_source(c, c._SRC.replace("def alloc():", "def alloc(:"))
    eq(s.engine, "viper", "engine")
    if not why.startswith("viper: compiling failed: SyntaxError"):
        raise AssertionError("the reason must say what failed: %r" % (why,))
    eq(drain(s), [0, 1, 2, 3], "the viper pair works")


def test_a_pair_that_takes_the_wrong_block_is_never_used():
    c = _needs_viper()
    wrong = c._SRC.replace("= (h << 1) | 1", "= ((h + 1) << 1) | 1")  # returns h + 1
    if wrong == c._SRC:
        raise AssertionError("the source changed: update this test")
    s, why = _with_source(c, wrong)
    eq(s.engine, "viper", "engine")
    eq(why, "viper: the compiled pair took [1, 2] and freed them into links [1, 2]", "why")
    _is_new(s)


def _is_new(s):
    """s is as a new slab: counters 0, every block linked to the next, all handed out in order."""
    eq((s.num_used, s.max_used), (0, 0), "the trial left the counters as new")
    links = [int.from_bytes(bytes(s.buffer[16 * i : 16 * i + 4]), "little") for i in range(4)]
    eq(links, [1, 2, 3, 4], "every block links to the next")
    eq(drain(s), [0, 1, 2, 3], "and the pair built instead hands them out")


def test_a_pair_that_frees_into_the_wrong_word_is_never_used():
    c = _needs_viper()
    push = "ptr32(%(buf)s)[i * %(wpb)d] = head"
    wrong = c._SRC.replace(push, "ptr32(%(buf)s)[(i + 1) * %(wpb)d] = head")  # the next block's
    if wrong == c._SRC:
        raise AssertionError("the source changed: update this test")
    s, why = _with_source(c, wrong)
    eq(s.engine, "viper", "engine")
    eq(why, "viper: the compiled pair took [0, 1] and freed them into links [1, 2]", "why")
    _is_new(s)


def test_addresses_at_or_above_2_to_the_30_are_written_as_small_ints():
    # RV32's RAM sits at 0x80000000: there an address is a big int, which the
    # compiled code would unbox on every call; the source holds (a >> 2) << 2
    c = _needs_viper()
    for a in (0, 0x20041F00, 0x3FFFFFFC, 0x40000000, 0x80000010, 0xFFFFFFFC):
        src = c.address(a)
        eq(src, "(%d << 2)" % (a >> 2), "source of 0x%X" % a)
        if (a >> 2) >= 1 << 30:
            raise AssertionError("%s is not a small int on a 32-bit board" % src)
        eq(eval(src), a, "its value")
    s = MemSlab(16, 4, engine="compiled")  # and the real build uses it
    eq(s.engine, "compiled", "built")


def test_compiled_slabs_keep_to_their_own_state():
    _needs_viper()
    a = MemSlab(16, 3, engine="compiled")
    b = MemSlab(32, 5, engine="compiled")
    eq([a.alloc(), b.alloc(), b.alloc(), a.alloc()], [0, 0, 1, 1], "interleaved")
    a.free(0)
    eq((a.num_used, b.num_used, b.alloc(), a.alloc()), (1, 2, 2, 0), "each its own list")
    raises(ValueError, b.free, 3)  # b's head: free in b (a's block 3 does not exist)
    raises(ValueError, a.free, 3)
    eq(drain(b), [3, 4], "b's last blocks")


def test_without_viper_compiled_says_why():
    saved = (memslab.VIPER_ERROR, memslab._viper_checked)
    memslab.VIPER_ERROR, memslab._viper_checked = "no native emitter (test)", True
    try:
        e = raises(ValueError, MemSlab, 16, 4, engine="compiled")
    finally:
        memslab.VIPER_ERROR, memslab._viper_checked = saved
    if "engine='compiled' is not available: no native emitter (test)" not in str(e):
        raise AssertionError(str(e))


def test_closures_laid_out_otherwise_are_never_used():
    c = _needs_viper()
    from memslab import _viper

    real = _viper.find_box
    _viper.find_box = lambda *args: None  # as on a port whose closures differ
    try:
        s = MemSlab(16, 4, engine="compiled")
        why = c.PATH
    finally:
        _viper.find_box = real
    eq((s.engine, why), ("viper", "viper: closure layout"), "fallback")
    _is_new(s)
