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
# The box's address exists only once the closures do, after the compile, so it
# is kept in state words 6 and 7 (low and high half) and loaded per call.
#
# What it costs, per slab: the compile (the compiler and about 7 KB of free
# heap for a moment; milliseconds on a 125 MHz board), and the machine code of
# two functions, kept for the slab's life (in the GC heap on a board; outside
# it on the Unix port). `make bench` shows both.
#
# memslab chooses this engine only once the viper engine has passed its
# self-check (the compiled code is viper code too). Then, when each slab is
# built, and on any failure make() returns the viper pair (the same results)
# with the reason in PATH:
#   - the object model and the closure layout are as _viper.py expects
#   - every address is a small int (on a 32-bit board: below 2**30), so that
#     the source holds it as a machine word, not a big int
#   - the port can compile (a firmware built without the compiler cannot)
#   - and the new pair, run once on the new slab, takes and returns its head
#     block (then the slab is put back as new, whatever the trial did).
# Interrupts: as for the viper pair (see _viper.py): nothing is allocated, and
# the box belongs to this slab's pair.

import micropython
import uctypes

from . import _viper
from ._errors import words

build = _viper.build  # the same free list
PATH = None  # "compiled", or "viper: <why not>", set by every make()

_SRC = """
def pair(slab):
    box = %(mark)d

    @micropython.viper
    def alloc():
        s = ptr32(%(st)d)
        h = s[0]
        n = s[3]
        if h == n:  # empty
            return None
        nxt = ptr32(%(buf)d)[h * %(wpb)d]
        if uint(nxt) > uint(n) or nxt == h:  # not a block index or the end, or a self-link
            return slab._corrupt(h)
        u = s[1] + 1
        if u >= n and (u > n or nxt != n):  # the last block must end the list
            return slab._corrupt(h)
        s[0] = nxt  # take h
        s[1] = u
        if u > s[2]:
            s[2] = u
        ptr32(%(box)s)[0] = (h << 1) | 1
        return box  # the small int h

    @micropython.viper
    def free(h):
        nonlocal box
        box = h  # h's object word is now in the box
        f = ptr32(%(box)s)
        w = f[0]
%(high)s
        f[0] = 1  # the box holds the small int 0 again
        s = ptr32(%(st)d)
        i = w >> 1
        if (w & 1) == 0 or hi or uint(i) >= uint(s[3]):
            return slab._reject(h)  # not a small int, or out of range
        head = s[0]
        if i == head or s[1] == 0:  # already free (the cheap test)
            return slab._reject(h)
        if s[5]:
            return slab._handoff(h)
        ptr32(%(buf)d)[i * %(wpb)d] = head  # push i
        s[0] = i
        s[1] = s[1] - 1

    return alloc, free
"""


def make(slab, st, checked):
    """The (alloc, free) pair compiled for this slab, or the viper pair and PATH says why."""
    global PATH
    why = "checked=True uses the viper pair" if checked else _compile(slab, st)
    if isinstance(why, str):
        PATH = "viper: " + why
        return _viper.make(slab, st, checked)
    PATH = "compiled"
    return why


def _compile(slab, st):
    """(alloc, free) for this slab, checked; or a string that says why not."""
    w = _viper.word_size()
    if not w:
        return "object model"
    a = uctypes.addressof(st)
    b = uctypes.addressof(slab.buffer)
    if w == 4 and (a >= 1 << 30 or b >= 1 << 30):
        return "an address at or above 2**30 (0x%08X, 0x%08X) is not a small int" % (a, b)
    box = "ptr32(%d)[6]" % a
    high = "        hi = 0"
    if w == 8:
        box = "ptr32(%d)[6] | (ptr32(%d)[7] << 32)" % (a, a)
        high = "        hi = f[1]\n        f[1] = 0"
    src = _SRC % {
        "mark": _viper.MARK,
        "st": a,
        "buf": b,
        "wpb": slab.block_size >> 2,
        "box": box,
        "high": high,
    }
    g: dict = {"micropython": micropython}  # the compiled code's globals
    try:
        exec(src, g)  # noqa: S102 - our own template; only numbers are filled in
        alloc, free = g.pop("pair")(slab)  # pop: the outer function's code is not kept
    except Exception as e:  # noqa: BLE001 - no compiler, no memory, ...: use the viper pair
        return "compiling failed: %s: %s" % (type(e).__name__, e)
    cell = _viper.find_box(alloc, free, w)
    if cell is None:
        return "closure layout"
    s = words(st, 8)
    s[6] = cell & 0xFFFFFFFF
    s[7] = cell >> 32 if w == 8 else 0
    return _tried(slab, st, s, alloc, free)


def _tried(slab, st, s, alloc, free):
    """Run the new pair once on the new slab: its head block out and back in.
    Whatever happens, the slab is left as new."""
    head, used, peak = s[0], s[1], s[2]
    h = None
    try:
        h = alloc()
        ok = h == head and s[0] != head and s[1] == used + 1
        free(h)
        ok = ok and s[0] == head and s[1] == used
    except Exception:  # noqa: BLE001 - a wrong pair may raise anything: refuse it
        ok = False
    s[0], s[1], s[2] = head, used, peak
    if ok:
        return alloc, free
    build(st, slab.buffer, False)  # a wrong free may have written a link: relink all
    return "the compiled pair took %r, not block %d" % (h, head)
