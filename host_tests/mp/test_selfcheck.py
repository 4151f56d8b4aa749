"""The engine self-check: viper code that computes a wrong constant is never used.

MicroPython's freezer can misalign frozen ARMv6-M viper code so that its
32-bit constants read wrong (the poison 0x3A3A3A3A became 0x3A3AE001 on an
RP2040). memslab runs each engine's real code on a scratch slab before the
first viper slab and falls back to the python engine, with the reason in
memslab.VIPER_ERROR, if anything differs. Tests feed the same check a wrong
expected poison, which is what a misread constant looks like to it.
"""
# memslab-test: small-heap
# memslab-test: small-heap-source

import memslab
import mptest
from mptest import eq, raises

MISREAD = 0x3A3AE001  # the poison a frozen RP2040 build wrote


class SkipTest(Exception):
    pass


def test_the_engine_passes_its_self_check():
    from memslab import _selfcheck

    eq(_selfcheck.check(mptest.ENGINE), None, "self-check of " + mptest.ENGINE)


def test_a_misread_constant_fails_the_self_check():
    from memslab import _selfcheck

    why = _selfcheck.check(mptest.ENGINE, poison=MISREAD)
    if why is None or "3A3AE001" not in why or mptest.ENGINE not in why:
        raise AssertionError("self-check passed or said too little: %r" % (why,))


def test_a_viper_engine_failing_its_check_is_never_used():
    if "viper" not in mptest.ENGINES:
        raise SkipTest("no viper engine on this port")
    from memslab import _selfcheck, _viper

    real = _selfcheck.check
    saved = (memslab.VIPER_ERROR, memslab._viper_checked)
    code = (_viper.build, _viper._fast, _viper.RECOMPILED)  # the check compiles them again
    memslab._viper_checked = False  # as on the first viper slab after import
    _selfcheck.check = lambda engine: real(engine, poison=MISREAD)
    try:
        s = memslab.MemSlab(16, 4)
        e = raises(ValueError, memslab.MemSlab, 16, 4, engine="viper")
        why = memslab.VIPER_ERROR
    finally:
        _selfcheck.check = real
        memslab.VIPER_ERROR, memslab._viper_checked = saved
        _viper.build, _viper._fast, _viper.RECOMPILED = code
    eq(s.engine, "python", "engine='auto' fell back")
    eq(s.alloc(), 0, "and the fallback works")
    if why is None or "3A3AE001" not in why or why not in str(e):
        raise AssertionError("the reason must be visible: VIPER_ERROR=%r, error=%s" % (why, e))
    eq(memslab.MemSlab(16, 4).engine, "viper", "restored")


def _misplaced_build(st, buf, poison):
    """build() as misplaced frozen ARMv6-M code ran it: the poison constant read
    wrong. Written out here (with the package's own words()): importing
    _python, _errors or _layout in the middle of the self-check would compile
    them, on a 64K heap with a source install, where the check then ran out
    of heap."""
    s = memslab._words(st, 8)
    n, wpb = s[3], s[4]  # the state's words N and WPB (_layout.py)
    w = memslab._words(buf, n * wpb)
    for i in range(n):
        w[i * wpb] = i + 1  # block i links to i + 1, the last to n
        for k in range(1, wpb if poison else 1):
            w[i * wpb + k] = MISREAD


def _first_viper_slab_with(build, recompile=None):
    """The first viper slab after import, where _viper.build is `build` (and
    _selfcheck.recompile is `recompile`): (the slab, VIPER_ERROR, RECOMPILED,
    build afterwards). Every module global touched is put back."""
    from memslab import _selfcheck, _viper  # the package imports this _selfcheck

    saved = (memslab.VIPER_ERROR, memslab._viper_checked)
    real = (_viper.build, _viper._fast, _viper.RECOMPILED, _selfcheck.recompile)
    memslab._viper_checked = False  # as on the first viper slab after import
    _viper.build, _viper.RECOMPILED = build, None
    if recompile is not None:
        _selfcheck.recompile = recompile
    try:
        s = memslab.MemSlab(16, 4, checked=True)
        return s, memslab.VIPER_ERROR, _viper.RECOMPILED, _viper.build
    finally:
        memslab.VIPER_ERROR, memslab._viper_checked = saved
        _viper.build, _viper._fast, _viper.RECOMPILED, _selfcheck.recompile = real


def test_machine_code_failing_its_check_is_compiled_again_from_source():
    # Frozen firmware: the freezer misplaced the machine code, the self-check
    # catches it, and the engine is compiled again at run time (word-aligned).
    if "viper" not in mptest.ENGINES:
        raise SkipTest("no viper engine on this port")
    s, error, why, build = _first_viper_slab_with(_misplaced_build)
    if error is not None and "failed: MemoryError" in error:  # a source install on 64K
        raise SkipTest("no room to compile on this heap: %s" % error)
    eq(error, None, "VIPER_ERROR")
    if why is None or "3A3AE001" not in why:
        raise AssertionError("RECOMPILED must say what failed: %r" % (why,))
    if build is _misplaced_build:
        raise AssertionError("build() was not compiled again")
    eq((s.engine, s.alloc(), s.alloc()), ("viper", 0, 1), "a viper slab on the new code")
    eq(bytes(s.buffer[36:48]), b":" * 12, "block 2 poisoned right")
    s.free(0)
    raises(ValueError, s.free, 0)
    eq(memslab.MemSlab(16, 4).engine, "viper", "restored")


def test_without_a_compiler_the_python_engine_runs_and_says_why():
    if "viper" not in mptest.ENGINES:
        raise SkipTest("no viper engine on this port")
    s, error, why, _ = _first_viper_slab_with(
        _misplaced_build, lambda viper, why: "compiling it from source failed: no compiler (test)"
    )
    eq((s.engine, why), ("python", None), "the python engine")
    if error is None or "3A3AE001" not in error or "no compiler (test)" not in error:
        raise AssertionError("VIPER_ERROR must give both reasons: %r" % (error,))
    eq(s.alloc(), 0, "and it works")


ANY_ENGINE = (
    "test_a_viper_engine_failing_its_check_is_never_used",
    "test_machine_code_failing_its_check_is_compiled_again_from_source",
    "test_without_a_compiler_the_python_engine_runs_and_says_why",
)
