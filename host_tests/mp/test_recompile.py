"""Frozen firmware: a MemPool's or BlockQueue's pair whose machine code fails its trial.

MicroPython's freezer can place frozen ARMv6-M code at 2 mod 4, where its
32-bit constants read wrong (test_selfcheck.py tells the slab's side). A
pool's and a queue's pair then fail the trial run at their build, and they
used to get the python pair: 154 us per pool pair on the emulated Pico
instead of 20. Now the pair is compiled again from its source text
(_vipersrc.POOL, QUEUE) once, and every later pool or queue gets it; where
that cannot compile, the python pair, and RECOMPILED says why. Here the
wrong machine code is made the same way: from the real source with one
constant changed.
"""

import mptest
from memslab import BlockQueue, MemPool, MemSlab
from mptest import SkipTest, eq

ANY_ENGINE = (
    "test_a_pool_pair_that_fails_its_trial_is_compiled_again_from_source",
    "test_a_pool_pair_that_cannot_be_compiled_again_is_the_python_pair",
    "test_a_queue_pair_that_fails_its_trial_is_compiled_again_from_source",
    "test_a_queue_pair_that_cannot_be_compiled_again_is_the_python_pair",
)

# The line that makes a pair's result (as the text has it: without redundant
# parentheses), and the same line one off: as wrong as a misread constant,
# and the trial must see it.
POOL_LINE = ("f[0] = s[r + _FIRST] + h << 1 | 1", "f[0] = s[r + _FIRST] + h + 1 << 1 | 1")
QUEUE_LINE = ("[0] = h << 1 | 1", "[0] = h + 1 << 1 | 1")


def _misread(mod, name, line):
    """mod's pair as misplaced machine code runs it: compiled from the real text
    (name: POOL or QUEUE) with `line` changed."""
    from memslab import _vipersrc

    text = getattr(_vipersrc, name)
    wrong = text.replace(line[0], line[1])
    if wrong == text:
        raise AssertionError("the source changed: update this test's line")
    return _vipersrc.compiled(wrong, MARK=mod.MARK)["pair"]


def _with(mod, name, line, no_compiler, body):
    """body() while mod.pair is the misread one (and, no_compiler, compiling
    fails); mod's pair and RECOMPILED are put back after."""
    if "viper" not in mptest.ENGINES:
        raise SkipTest("no viper engine on this port")
    from memslab import _vipersrc

    real = (mod.pair, mod.RECOMPILED, _vipersrc.compiled)
    mod.pair, mod.RECOMPILED = _misread(mod, name, line), None
    if no_compiler:

        def fails(text, **names):
            raise RuntimeError("no compiler (test)")

        _vipersrc.compiled = fails  # the module recompile() runs from (loaded by _misread)
    try:
        body()
    finally:
        mod.pair, mod.RECOMPILED, _vipersrc.compiled = real


def test_a_pool_pair_that_fails_its_trial_is_compiled_again_from_source():
    from memslab import _poolviper

    def body():
        p = MemPool(((16, 4), (64, 2)))
        eq(_poolviper.RECOMPILED, "the loaded machine code failed its trial", "why")
        eq(type(p._st).__name__, "array", "the machine code's state (a list: the python pair)")
        eq([p.alloc(10), p.alloc(60), p.alloc(10)], [0, 4, 1], "handles from the new code")
        p.free(4)
        eq(p.num_used, 2, "freed")
        again = _poolviper.pair
        q = MemPool(((32, 2),))
        eq((_poolviper.pair is again, type(q._st).__name__), (True, "array"), "once for all")
        eq(q.alloc(1), 0, "a later pool")

    _with(_poolviper, "POOL", POOL_LINE, False, body)


def test_a_pool_pair_that_cannot_be_compiled_again_is_the_python_pair():
    from memslab import _poolviper

    def body():
        p = MemPool(((16, 4), (64, 2)))
        want = "compiling it from source failed: RuntimeError: no compiler (test)"
        eq(_poolviper.RECOMPILED, want, "why")
        eq(type(p._st).__name__, "list", "the python pair's state")
        eq([p.alloc(10), p.alloc(60)], [0, 4], "and it works")

    _with(_poolviper, "POOL", POOL_LINE, True, body)


def test_a_queue_pair_that_fails_its_trial_is_compiled_again_from_source():
    from memslab import _queue_viper

    def body():
        s = MemSlab(16, 4, engine="viper")
        q = BlockQueue(s)
        eq(_queue_viper.RECOMPILED, "the loaded machine code failed its trial", "why")
        eq(q.engine, "viper", "the machine code")
        for h in (2, 0, 3):
            q.put(h)
        eq([q.get(), q.get(), q.get(), q.get()], [2, 0, 3, None], "FIFO from the new code")
        eq(BlockQueue(MemSlab(16, 2, engine="viper")).engine, "viper", "a later queue")

    _with(_queue_viper, "QUEUE", QUEUE_LINE, False, body)


def test_a_queue_pair_that_cannot_be_compiled_again_is_the_python_pair():
    from memslab import _queue_viper

    def body():
        q = BlockQueue(MemSlab(16, 4, engine="viper"))
        want = "compiling it from source failed: RuntimeError: no compiler (test)"
        eq((_queue_viper.RECOMPILED, q.engine), (want, "python"), "why, and the pair")
        q.put(1)
        eq([q.get(), q.get()], [1, None], "and it works")

    _with(_queue_viper, "QUEUE", QUEUE_LINE, True, body)
