"""The engine self-check: run an engine's real code before trusting it.

MicroPython's freezer can place frozen ARMv6-M viper code at 2 mod 4 while
its 32-bit constants are read as if at 0 mod 4 (seen on RP2040 in 1.28 and
the 1.29 previews). Such code runs, but computes wrong constants. memslab
runs this check once, on the first viper slab (run()); when it fails,
recompile() compiles the viper engine again from its source text (placed by
the heap, word-aligned) and the check runs again; the python engine runs,
with the reasons in memslab.VIPER_ERROR, only when that fails too. Then this
module is dropped: its code leaves the heap.
"""

import micropython
import sys
from micropython import const

from . import MemSlab
from . import _words as words

_POISON = const(0x3A3A3A3A)  # _layout.POISON


def run(g):
    """The first viper slab's check, for memslab._viper_usable(): sets the
    package's VIPER_ERROR and _viper_checked (g is its globals()); where the
    machine code fails, compiles the engine again from source (recompile())
    and checks that. Drops this module and _vipersrc afterwards."""
    g["_viper_checked"] = True
    g["VIPER_ERROR"] = why = check("viper")
    if why is not None:  # frozen code the freezer misplaced: compile it again
        g["VIPER_ERROR"] = None  # while the new code is checked
        err = recompile(g["_viper"], why) or check("viper")
        g["VIPER_ERROR"] = None if err is None else "%s; %s" % (why, err)
        _forget(g, "_vipersrc")  # from a .mpy the text is on the heap: let it go
    _forget(g, "_selfcheck")  # runs once: its code need not stay on the heap


def _forget(g, name):
    """Drop a submodule that has done its job (its code leaves the heap)."""
    sys.modules.pop(g["__name__"] + "." + name, None)
    g.pop(name, None)


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
        # Refused without a trace: wrong type, and a value only a 64-bit check
        # sees. With the heap locked, as in a hard IRQ: the slab raises its
        # prebuilt errors and loads no messages (their names would stay in
        # the interned-string pool for good).
        bad = ((None, TypeError), (1 << 31, ValueError), ((1 << 32) + 1, ValueError))
        missed = -1
        micropython.heap_lock()
        try:
            for i in range(3):
                h, exc = bad[i]
                try:
                    free(h)
                except exc:
                    continue
                missed = i
                break
        finally:
            micropython.heap_unlock()
        if missed >= 0:
            h, exc = bad[missed]
            return "%s engine: free(%r) did not raise %s" % (engine, h, exc.__name__)
        got = [s.alloc(), s.alloc(), s.alloc()]
        free(got[0])
        d = MemSlab(8, 2, engine=engine)
        got += [d.alloc(), d.alloc(), d.alloc()]
        if got != [0, 1, None, 0, 1, None] or w[0] != 2 or s.num_used != 1:
            return "%s engine handed out %r (expected [0, 1, None, 0, 1, None])" % (engine, got)
    except Exception as e:  # noqa: BLE001 - any failure means: do not use this engine
        return "%s engine failed its self-check: %s: %s" % (engine, type(e).__name__, e)
    return None


def recompile(viper, why):
    """Compile the viper module's build() and pair again, from _vipersrc.py
    (_viper.py's viper functions as text), and use them from now on; None,
    or why not.

    For firmware whose frozen machine code failed the self-check (`why`):
    MicroPython's freezer can place frozen ARMv6-M code at 2 mod 4, where its
    32-bit constants read wrong; code compiled at run time lands in the heap,
    word-aligned. Costs the compile once and the new machine code's heap
    (README, "Frozen firmware"). A port built without the compiler says so.
    """
    try:
        from . import _vipersrc

        g = _vipersrc.compiled(_vipersrc.SRC)
    except Exception as e:  # noqa: BLE001 - no compiler, no memory: keep the python engine
        return "compiling it from source failed: %s: %s" % (type(e).__name__, e)
    viper.build, viper._fast, viper.RECOMPILED = g["build"], g["_fast"], why
    return None
