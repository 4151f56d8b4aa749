"""The engine self-check: run an engine's real code before trusting it.

MicroPython's freezer can place frozen ARMv6-M viper code at 2 mod 4 while
its 32-bit constants are read as if at 0 mod 4 (seen on RP2040 in 1.28 and
the 1.29 previews). Such code runs, but computes wrong constants. memslab
runs this check once, on the first viper slab, and uses the python engine
with the reason in memslab.VIPER_ERROR when it fails.
"""

from micropython import const

from . import MemSlab
from ._errors import words

_POISON = const(0x3A3A3A3A)  # _layout.POISON


def check(engine, poison=_POISON):
    """Run the engine's real code on a scratch slab; None if right, else what was wrong.

    Guards against machine code that computes its constants wrong: MicroPython's
    freezer can place frozen ARMv6-M viper code at 2 mod 4 while its 32-bit
    constants are read as if at 0 mod 4 (seen on RP2040 in 1.28/1.29-preview:
    the poison became 0x3A3AE001 and the argument-count check let alloc(1)
    through). `poison` is what a free block must hold; tests pass a wrong one.
    """
    try:
        s = MemSlab(8, 2, engine=engine, checked=True)  # _viper_checked is set: no recursion
        w = words(s.buffer, 4)
        if w[0] != 1 or w[2] != 2 or w[1] != poison or w[3] != poison:
            m = 0xFFFFFFFF
            got = "%08X %08X %08X %08X" % (w[0] & m, w[1] & m, w[2] & m, w[3] & m)
            return "%s engine built the words %s, not 00000001 %08X 00000002 %08X" % (
                engine,
                got,
                poison,
                poison,
            )
        # the engine's closures (getattr: the class's documenting methods take no count)
        alloc, free = getattr(s, "alloc"), getattr(s, "free")  # noqa: B009
        for name, call in (("alloc(1)", lambda: alloc(1)), ("free(0, 2)", lambda: free(0, 2))):
            try:
                call()
            except TypeError:
                continue
            return "%s engine accepted %s (its argument check is broken)" % (engine, name)
        # refused without a trace: wrong type, and a value only a 64-bit check sees
        for bad, exc in ((None, TypeError), (1 << 31, ValueError), ((1 << 32) + 1, ValueError)):
            try:
                free(bad)
            except exc:
                continue
            return "%s engine: free(%r) did not raise %s" % (engine, bad, exc.__name__)
        got = [s.alloc(), s.alloc(), s.alloc()]
        free(got[0])
        d = MemSlab(8, 2, engine=engine)
        got += [d.alloc(), d.alloc(), d.alloc()]
        if got != [0, 1, None, 0, 1, None] or w[0] != 2 or s.num_used != 1:
            return "%s engine handed out %r (expected [0, 1, None, 0, 1, None])" % (engine, got)
    except Exception as e:  # noqa: BLE001 - any failure means: do not use this engine
        return "%s engine failed its self-check: %s: %s" % (engine, type(e).__name__, e)
    return None
