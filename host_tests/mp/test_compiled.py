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
    "test_a_compile_that_fails_falls_back_to_the_viper_pair",
    "test_a_pair_that_takes_the_wrong_block_is_never_used",
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
    if sys.platform == "linux":  # the Unix port compiles: its addresses are small ints
        eq((s.engine, c.PATH), ("compiled", "compiled"), "the pair built")
    elif s.engine != "compiled":  # a board may refuse (addresses at or above 2**30)
        eq((s.engine, c.PATH[:7]), ("viper", "viper: "), "the fallback and its reason")
    eq(drain(s), [0, 1, 2, 3], "handed out")
    eq(repr(s)[-16:], "engine=%s>" % s.engine, "repr")


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
    eq(why, "viper: the compiled pair took 1, not block 0", "reason")
    eq((s.num_used, s.max_used), (0, 0), "the trial left the counters as they were")
    eq(drain(s), [0, 1, 2, 3], "and the free list")


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
