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
    from memslab import _selfcheck

    real = _selfcheck.check
    saved = (memslab.VIPER_ERROR, memslab._viper_checked)
    memslab._viper_checked = False  # as on the first viper slab after import
    _selfcheck.check = lambda engine: real(engine, poison=MISREAD)
    try:
        s = memslab.MemSlab(16, 4)
        e = raises(ValueError, memslab.MemSlab, 16, 4, engine="viper")
        why = memslab.VIPER_ERROR
    finally:
        _selfcheck.check = real
        memslab.VIPER_ERROR, memslab._viper_checked = saved
    eq(s.engine, "python", "engine='auto' fell back")
    eq(s.alloc(), 0, "and the fallback works")
    if why is None or "3A3AE001" not in why or why not in str(e):
        raise AssertionError("the reason must be visible: VIPER_ERROR=%r, error=%s" % (why, e))
    eq(memslab.MemSlab(16, 4).engine, "viper", "restored")


ANY_ENGINE = ("test_a_viper_engine_failing_its_check_is_never_used",)
