"""memslab compiled engine: engine="compiled", a viper pair compiled for one slab.

Opt-in, never chosen by engine="auto". It trades RAM and build time for speed.
"""

# The viper pair (_viper.py) is one piece of machine code shared by every
# slab, so each call must first find its slab: it unboxes the state's address
# (a runtime call) and decodes two offsets from the state. Here the slab's
# addresses are written into the source as numbers, and the source is compiled
# when the slab is built (exec), so they become immediates in the machine code.
# What is left per call is the closure call and the body: see `make bench`.
#
# The body is the viper pair's default mode, step for step (checked=True gets
# the viper pair: checking is for debugging, not for speed). The box trick is
# the same (see _viper.py): alloc() writes (h << 1) | 1 into the shared cell
# `box` and returns it; free(h) stores h there and reads its object word back.
# After the compile, _viper.find_box() moves the box into state words 8-11, as
# for the viper pair: its value word is at an address known before.
#
# What it costs, per slab: the compile (the compiler and some KB of free heap
# for a moment, and this module, loaded for the build and dropped again after
# it unless the program imported it: its code would be 3.4 KB of a Pico's
# heap for good), the machine code of two functions, and a globals dict of
# its own (`make footprint` shows them). Where the machine code lives depends on the
# port: in the GC heap on rp2, freed with the slab; in IRAM on ESP32 and in
# pages of its own on the Unix port, never freed (until a soft reset on ESP32),
# also when the trial below refuses the pair. So: build compiled slabs once,
# at start-up, not in a loop.
#
# memslab chooses this engine only once the viper engine has passed its
# self-check (the compiled code is viper code too). Each build then checks the
# following; if anything fails, make() returns what _viper.make() returns (the
# viper pair, or where that pair's own checks fail the python one: _viper.PATH
# says which) and memslab.COMPILED_ERROR says why (PATH too, while this module
# is loaded):
#   - the object model and the closure layout are as _viper.py expects
#   - the port can compile (a firmware built without the compiler cannot)
#   - and the new pair, tried on the new slab, takes its first two blocks and
#     frees them into the right words (then the slab is made new again,
#     whatever the trial did).
# Interrupts: as for the viper pair (see _viper.py): nothing is allocated, and
# the box belongs to this slab's pair.

import micropython
import sys
import uctypes
from micropython import const

from . import _viper
from . import _words as words

# State words (copies of _layout.py, filled into the source below).
_HEAD = const(0)
_USED = const(1)
_MAX = const(2)
_N = const(3)
_WPB = const(4)
_WAIT = const(5)
_VAL = const(10)  # the box's value word, once moved into the state (_viper.find_box)
_HI = const(11)  # its high half on a 64-bit port

build = _viper.build  # the same free list
PATH = None  # "compiled", or "viper: <why not>": what the last make() built
KEEP = True  # False: make() drops this module from the heap (set by _viper.compiled)

# The source compiled per slab: %(st)s and %(buf)s are the slab's addresses
# (as address() writes them), %(box)d the box's value word; %(high)s reads the
# box's high half (64-bit) or leaves it out (32-bit). The const lines make the state words
# names that the compiler folds, as in _viper.py (const() is the compiler's:
# an underscore name's line leaves nothing behind, so nothing is imported).
# Every name in this text is interned for good when it compiles (heap on a
# board), and so is every key below: the box's words are numbers here, and
# the names few.
_SRC = """
_HEAD = const(%(HEAD)d)
_USED = const(%(USED)d)
_MAX = const(%(MAX)d)
_N = const(%(N)d)
_WAIT = const(%(WAIT)d)


def pair(slab):
    box = %(mark)d

    @micropython.viper
    def alloc():
        s = ptr32(%(st)s)
        h = s[_HEAD]
        n = s[_N]
        if h - n:  # not empty
            nxt = ptr32(%(buf)s)[h * %(wpb)d]
            if uint(nxt) > uint(n):  # not a block index or the end
                return slab._corrupt(h)
            if nxt - h:
                pass
            else:  # a self-link
                return slab._corrupt(h)
            u = s[_USED] + 1
            if u >= n:  # the last block must end the list
                if u > n or nxt != n:
                    return slab._corrupt(h)
            s[_HEAD] = nxt  # take h
            s[_USED] = u
            if u > s[_MAX]:
                s[_MAX] = u
            s[%(box)d] = (h << 1) | 1
            return box  # the small int h
        return None  # empty

    @micropython.viper
    def free(h):
        nonlocal box
        box = h  # h's object word is now in the box
        s = ptr32(%(st)s)
        w = s[%(box)d] - 1
        s[%(box)d] = 1  # the box holds the small int 0 again
%(high)s
        if uint(i) >= uint(s[_N]):
            return slab._reject(h)  # not a small int, or out of range
        head = s[_HEAD]
        if i - head:
            pass
        else:  # already free (the cheap test): h is the head
            return slab._reject(h)
        if s[_USED]:
            pass
        else:  # or none is in use
            return slab._reject(h)
        if s[_WAIT]:
            return slab._handoff(h)
        ptr32(%(buf)s)[i * %(wpb)d] = head  # push i
        s[_HEAD] = i
        s[_USED] = s[_USED] - 1

    return alloc, free
"""


def make(slab, st, checked):
    """The (alloc, free) pair compiled for this slab, which then says
    slab.engine == "compiled"; or what _viper.make() returns. Then
    memslab.COMPILED_ERROR says why not (None: compiled), as PATH does
    ("compiled" or "viper: <why not>") while this module is loaded."""
    global PATH
    why = "checked=True uses the viper pair"
    if not checked:
        try:
            why = _compile(slab, st)
        except Exception as e:  # noqa: BLE001 - no memory, anything: use the viper pair
            why = "%s: %s" % (type(e).__name__, e)
    if isinstance(why, str):
        PATH = "viper: " + why
        pair = _viper.make(slab, st, checked)
    else:
        pair, why = why, None
        PATH = "compiled"
        slab.engine = "compiled"  # here, not from PATH: another thread may build a slab meanwhile
    import memslab

    memslab.COMPILED_ERROR = why
    if not KEEP:  # the slab needs none of this module's code: off the heap
        sys.modules.pop(__name__, None)
        if "_compiled" in dir(memslab):
            delattr(memslab, "_compiled")
    return pair


def address(a):
    """A word-aligned address as source text whose number is a small int on
    every port: a 32-bit board's RAM may sit at or above 2**30 (RV32 at
    0x80000000), where the number itself would be a big int that viper code
    unboxes on every call. a >> 2 is below 2**30; the shift back is one
    instruction on a machine word (the compiler folds it where it fits)."""
    return "(%d << 2)" % (a >> 2)


def _compile(slab, st):
    """(alloc, free) for this slab, checked; or a string that says why not."""
    w = _viper.word_size()
    if not w:
        return "object model"
    a = uctypes.addressof(st)
    b = uctypes.addressof(slab.buffer)
    if (a | b) & 3:  # address() keeps whole words only
        return "an address that is not a multiple of 4 (0x%X, 0x%X)" % (a, b)
    a, b = address(a), address(b)
    # i: h's value, or bit 31 set (see _viper.py); a 32-bit board has no high half.
    high = "        i = (w >> 1) | ((w & 1) << 31)"
    if w == 8:
        high = (
            "        hi = s[%d]\n        s[%d] = 0\n        i = (w >> 1) | (((w & 1) | hi) << 31)"
        )
        high %= (_HI, _HI)
    src = _SRC % {
        "HEAD": _HEAD,
        "USED": _USED,
        "MAX": _MAX,
        "N": _N,
        "WAIT": _WAIT,
        "mark": _viper.MARK,
        "st": a,
        "buf": b,
        "wpb": slab.block_size >> 2,
        "box": _VAL,
        "high": high,
    }
    g: dict = {"micropython": micropython}  # the compiled code's globals: kept by the closures
    try:
        exec(src, g)  # noqa: S102 - our own template; only numbers are filled in
        alloc, free = g.pop("pair")(slab)  # pop: the outer function's code is not kept
    except Exception as e:  # noqa: BLE001 - no compiler, no memory, ...: use the viper pair
        return "compiling failed: %s: %s" % (type(e).__name__, e)
    if _viper.find_box(alloc, free, w, uctypes.addressof(st) + 40 - w) is None:
        return "closure layout"  # else its box is now words 8-11, as the source says
    s = words(st, 12)
    return _tried(slab, st, s, alloc, free)


def _tried(slab, st, s, alloc, free):
    """Run the new pair on the new slab: take its first two blocks (its one
    block, if it has one), give them back, and check the counters, the head
    and the link words the frees wrote. Then the slab is made new again,
    whatever happened: (alloc, free), or why the pair is refused."""
    wpb = s[_WPB]
    k = 2 if s[_N] > 1 else 1
    links = words(slab.buffer, k * wpb)
    try:
        got = [alloc() for _ in range(k)]  # a new slab hands out 0, 1
        took = s[_HEAD] == k and s[_USED] == k
        for h in got:
            free(h)  # block 0 then links to k, block 1 to 0; the head is k - 1
        wrote = [links[i * wpb] for i in range(k)]
        ok = got == list(range(k)) and took and s[_HEAD] == k - 1 and s[_USED] == 0
        ok = ok and wrote == [k, 0][:k]
        why = "the compiled pair took %r and freed them into links %r" % (got, wrote)
    except Exception as e:  # noqa: BLE001 - a wrong pair may raise anything: refuse it
        ok, why = False, "the compiled pair failed its trial: %s: %s" % (type(e).__name__, e)
    s[_HEAD], s[_USED], s[_MAX] = 0, 0, 0  # a new slab: head 0, nothing used
    build(st, slab.buffer, False)  # every block links to the next again
    return (alloc, free) if ok else why
