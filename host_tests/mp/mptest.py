"""Shared helpers for the MicroPython-side tests (runs on the Unix port and on boards).

run.py sets ENGINE before each test, so one test body covers both engines.
"""

import memslab
from memslab import MemSlab

# host_tests/conftest.py's variants: "fallback", viper slabs get the plain pair;
# "recompiled", the viper engine compiled from its source text at run time (as
# frozen firmware whose machine code failed the self-check runs it). Only the
# Unix and Windows ports have os.getenv: a board runs the normal variant.
FALLBACK = RECOMPILED = False
try:
    from os import getenv

    FALLBACK = getenv("MEMSLAB_VIPER_FAST") == "0"
    RECOMPILED = getenv("MEMSLAB_VIPER_RECOMPILE") == "1"
except ImportError:
    pass
if FALLBACK:
    from memslab import _viper

    _viper.FAST = False
if RECOMPILED:
    from memslab import _selfcheck, _viper

    if _selfcheck.recompile(_viper, "MEMSLAB_VIPER_RECOMPILE=1") is not None:
        raise RuntimeError("the recompiled variant could not compile the viper engine")

ENGINE = "python"
ENGINES = ["python"]
if memslab._viper_usable() is None:  # imported, and passed its self-check
    ENGINES.append("viper")
# engine="compiled" where viper runs: for the modules with COMPILED = True (run.py)
COMPILED = ["compiled"] if "viper" in ENGINES else []


def slab(block_size=16, num_blocks=4, **kw):
    """A MemSlab on the engine under test."""
    kw.setdefault("engine", ENGINE)
    return got_engine(MemSlab(block_size, num_blocks, **kw), kw["engine"])


def got_engine(s, asked):
    """s, if it runs the engine it was asked for. A slab that engine="compiled"
    could not compile (no memory, say) gets the viper pair: the test is skipped,
    not passed on the wrong pair. (checked=True always gets the viper pair.)"""
    if asked == "compiled" and s.engine != "compiled" and not s.checked:
        import memslab

        raise SkipTest("no compiled pair for this slab: %s" % memslab.COMPILED_ERROR)
    return s


def raises(exc_type, fn, *args, **kw):
    """Call fn(*args, **kw); return the exception it raised, which must be an exc_type."""
    try:
        fn(*args, **kw)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised by %r%r" % (exc_type.__name__, fn, args))


def state(s):
    """Everything observable about a slab, to prove a rejected call changed nothing."""
    return (s.num_used, s.num_free, s.max_used, bytes(s.buffer), words(s._st))


_NO_BOX = bytes(16)  # what words() shows for words 8-11


def words(st):
    """A slab's state bytes but for words 8-11, the viper pair's box: a scratch
    cell every call writes (memslab/_layout.py), not the slab's state. One
    copy, as bytes(st) was (a 64K heap has little room for more)."""
    b = bytearray(st)
    b[32:48] = _NO_BOX
    return b


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


class SkipTest(Exception):
    """Raise it to say SKIP: a feature this port lacks (run.py matches the name)."""


# False: every test that would start a thread (RP2040: core 1) says SKIP instead.
# `make test-board THREADS=0` sets it, for a board whose second core cannot run
# (the emulated Pico has none; a started thread would hang the board, not fail).
THREADS = True


def thread_or_skip():
    """The _thread module, or SkipTest where the port has no threads (or THREADS is False)."""
    if not THREADS:
        raise SkipTest("needs a second thread or core: THREADS=0")
    try:
        import _thread
    except ImportError:
        raise SkipTest("no _thread on this port")
    return _thread


def poke_word(s, h, k, value):
    """Write 32-bit word k of block h straight into the buffer (a stray write)."""
    o = h * s.block_size + 4 * k
    s.buffer[o : o + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")


def drain(s):
    """alloc() until None; the blocks handed out, in order."""
    got = []
    while True:
        h = s.alloc()
        if h is None:
            return got
        got.append(h)
