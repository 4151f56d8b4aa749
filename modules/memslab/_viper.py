"""memslab viper engine: the hot path compiled to machine code.

Importing this module is a SyntaxError on a port without a native emitter;
memslab/__init__.py imports it under try and falls back to _python.py.

State: the slab's bytearray `st`, 32-bit words laid out in _layout.py; this
module keeps const() copies of the numbers (viper code cannot read module
globals for free). Words 6 and 7 are this engine's own; make() fills them
for the pair it builds:
    plain pair: 6 LO, 7 HI   the blocks' address, low and high 32 bits
    fast pair:  6 BUF        the blocks' address minus the state's, mod 2**32
                7 BOX        the box's value-word address minus the state's,
                             mod 2**32, plus 1 on a 64-bit port (bit 0 is
                             free: the address is word-aligned)
build() writes neither. Call build() first, then make() once per state.

The fast pair, and why it looks odd
-----------------------------------
`alloc` and `free` are closures (one pair per slab). Measured on x64, the
closure call itself is most of the pair's cost; what is left to win is in
the body, where every *runtime call* (machine code calling back into
MicroPython's C helpers) costs 5-7 ns. The plain pair needs up to seven:
unboxing the state address, boxing the returned index (`r[h]`: viper cannot
make an int object itself), and in free() h's type test, unboxing h and an
`is` test that refuses big ints. The fast pair makes one (the state address)
and does the rest with plain memory reads and writes, using two facts about
MicroPython's object model:

1. A small int is not a heap object: the object *is* the machine word
   (v << 1) | 1. So alloc() can make its return value by writing that word.
2. A closure keeps each closed-over variable in a "cell", a two-word heap
   object [type, value], and machine code reads and writes the value word
   inline (no runtime call). The pair shares one cell, `box`, and make()
   finds where its value word lives in memory.

alloc() writes (h << 1) | 1 into the box's value word and returns the box:
the caller receives the small int h. free(h) stores h into the box (an
inline store), reads the word back through a pointer and at once puts the
small int 0 back (so the box's high half is 0 whenever alloc() writes the
low half, and the box never keeps a rejected object alive): h is a block
index iff the low bit is 1 (a small int, not a pointer to a float, str, big
int, None or bool) and (word >> 1) is in range; on a 64-bit port the high
half must be 0 too (else h is a small int >= 2**31).

Offsets, not addresses, are kept so that all of it fits the state's eight
words (a slab costs no more heap than with the plain pair): the closures hold
the state's address (`ptr32(int(a))` is the one runtime call left) and add
the offsets. On a 32-bit board any offset works (the sum wraps mod 2**32); on
a 64-bit port each must fit 32 signed bits (true inside one GC heap), else
make() builds the plain pair.

Every assumption is checked when the slab is built (_fast_pair): word size,
byte order, the small-int encoding (id(v) == (v << 1) | 1), the closure and
cell layout (the box is found by a marker value, never assumed), the offsets;
then the new closures run against a private one-block scratch state (alloc,
alloc when empty, free of None and of 2**31, free) before they are pointed at
the slab. If anything differs, make() builds the plain pair instead (the same
checks, with runtime calls): a port with another object model still works,
only slower. `FAST = False` forces the plain pair (tests drive both paths);
`PATH` says which one the last make() built, and why not the fast one.

Interrupts: the box belongs to one slab's pair. A hard IRQ landing between
the box write and the return can disturb it only by calling alloc/free of
the *same* slab, which already needs threadsafe=True (the whole call then
runs under the guard); micropython.schedule callbacks never run inside viper
code. A nested free() (free -> slab._reject/_handoff -> the raw free) starts
after the outer one has read the box. The box only ever holds small ints,
which the garbage collector ignores.

Viper ints are 64-bit on the x64 host and 32-bit on boards; every value kept
here is a small non-negative int, and links are compared as uint so that a
corrupted link (negative on a board) is caught by the same test and is never
boxed (the slow paths get only h; the slab re-reads the link itself).
"""

import micropython
import sys
import uctypes
from micropython import const

from . import _python

# Word indices in `st` (copies of _layout.py; viper cannot import names).
_HEAD = const(0)
_USED = const(1)
_MAX = const(2)
_N = const(3)
_WPB = const(4)
_WAIT = const(5)
_LO = const(6)  # plain pair: LO, HI; fast pair: BUF, BOX (see above)
_HI = const(7)
_BUF = const(6)
_BOX = const(7)
_W64 = const(1)  # bit 0 of BOX: a 64-bit port
_BITS = const(32)  # byte offset of the checked-mode bitmap
_POISON = const(0x3A3A3A3A)  # below 2**30: a small int (hence a viper word) on 32-bit boards too
_MARK = const(0x2A5A1)  # the box's first value, by which make() finds the box's cell

FAST = True  # False: make() builds the plain pair (for tests of the fallback)
PATH = None  # "fast" or "plain: <why>", set by every make()


@micropython.viper
def build(st, buf, poison: bool):
    """Thread every block onto the free list: block i links to i + 1, the last to n."""
    s = ptr32(st)
    b = ptr32(buf)
    n = s[_N]
    wpb = s[_WPB]
    i = 0
    while i < n:
        o = i * wpb
        b[o] = i + 1
        if poison:
            k = 1
            while k < wpb:
                b[o + k] = _POISON
                k += 1
        i += 1


def make(slab, st, r, checked):
    """Return the (alloc, free) pair for this slab: the fast pair if it checks out.

    `r` is range(num_blocks): the plain pair boxes an index as r[h].
    """
    global PATH
    why = _model() if FAST else "FAST is False"
    if why is None:
        pair, why = _fast_pair(slab, st, checked)
        if pair is not None:
            PATH = "fast"
            return pair
    PATH = "plain: " + why
    at = uctypes.addressof(slab._buf)
    s = _python.words(st, 8)
    s[_LO] = at & 0xFFFFFFFF
    s[_HI] = (at >> 16) >> 16
    return (_plain_checked if checked else _plain)(slab, uctypes.addressof(st), r)


# -- the fast pair: one runtime call per call (see the module docstring) --


def _model():
    """None if this port's objects look as the fast pair assumes, else what differs."""
    if sys.maxsize not in ((1 << 31) - 1, (1 << 63) - 1):
        return "word size"
    if getattr(sys, "byteorder", "little") != "little":
        return "byte order"
    if id(0) != 1 or id(_MARK) != (_MARK << 1) | 1:  # id(small int) is its object word
        return "small-int encoding"
    return None


def _word(addr, wide):
    """The machine word at addr (read at build time only)."""
    return uctypes.struct(addr, {"v": (uctypes.UINT64 if wide else uctypes.UINT32) | 0}).v


def _box_address(fn, wide):
    """Where fn's cell holding _MARK keeps its value word, or None.

    A closure object is [type, function, n_closed, cell 0, cell 1, ...] and a
    cell is [type, value], one machine word each (py/objclosure.c, objcell.c).
    """
    if type(fn).__name__ != "closure":
        return None
    w = 8 if wide else 4
    at = id(fn)
    n_closed = _word(at + 2 * w, wide)
    if not 1 <= n_closed <= 5:
        return None
    found = None
    for k in range(n_closed):
        value = _word(at + (3 + k) * w, wide) + w
        if _word(value, wide) == id(_MARK):
            if found is not None:
                return None  # two cells hold the marker: ambiguous
            found = value
    return found


def _offsets(st, buf, box, wide):
    """(BUF, BOX) words for the fast pair over st, or None if they do not fit."""
    a = uctypes.addressof(st)
    d = uctypes.addressof(buf) - a
    e = box - a
    if wide and not (-(1 << 31) <= d < 1 << 31 and -(1 << 31) <= e < 1 << 31):
        return None
    return d & 0xFFFFFFFF, (e & 0xFFFFFFFF) | (_W64 if wide else 0)


def _fast_pair(slab, st, checked):
    """((alloc, free), "") with the fast pair, or (None, why) when it cannot be used."""
    wide = sys.maxsize > (1 << 31)
    alloc, free, point = (_fast_checked if checked else _fast)(slab, uctypes.addressof(st))
    box = _box_address(alloc, wide)
    if box is None or box != _box_address(free, wide):
        return None, "closure layout"
    why = _rehearse(alloc, free, point, box, wide, checked)
    if why:
        return None, why
    words = _offsets(st, slab._buf, box, wide)
    if words is None:
        return None, "blocks or box beyond 2**31 bytes from the state"
    s = _python.words(st, 8)
    s[_BUF], s[_BOX] = words
    point(uctypes.addressof(st))
    return (alloc, free), ""


def _rehearse(alloc, free, point, box, wide, checked):
    """Run the new pair on a private one-block state; "" if it behaved, else what did not."""
    st = bytearray(_BITS + 1)
    blk = bytearray(4)
    s = _python.words(st, 8)
    s[_N] = 1
    s[_WPB] = 1
    build(st, blk, checked)
    words = _offsets(st, blk, box, wide)
    if words is None:
        return "box beyond 2**31 bytes from the state"
    s[_BUF], s[_BOX] = words
    point(uctypes.addressof(st))
    try:
        h = alloc()
        if h != 0 or h.__class__ is not int or alloc() is not None or s[_USED] != 1:
            return "rehearsal: alloc"
        for bad in (None, 1 << 31):  # 2**31's object word is 2**32 + 1: low half says 0
            try:
                free(bad)
            except (TypeError, ValueError):
                continue
            return "rehearsal: free(%r) accepted" % (bad,)
        free(h)
        if s[_USED] != 0 or s[_HEAD] != 0:
            return "rehearsal: free"
    except Exception as e:  # noqa: BLE001 - anything unexpected means: not on this port
        return "rehearsal: %s" % type(e).__name__
    return ""


# In the bodies below, `a + (o - (((o >> 31) << 16) << 16))` turns an offset word
# o into an address: on a 64-bit port the load zero-extends o, and this
# sign-extends it; on a 32-bit board the correction is 0 and the sum wraps.


def _fast(slab, a):
    box = _MARK  # alloc's result and free's argument pass through this cell

    def point(x):  # build time only: move the pair to the state at x
        nonlocal a
        a = x

    @micropython.viper
    def alloc():
        p = int(a)
        s = ptr32(p)
        h = s[_HEAD]
        n = s[_N]
        if h == n:  # empty
            return None
        o = s[_BUF]
        b = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        nxt = b[h * s[_WPB]]
        if uint(nxt) > uint(n) or nxt == h:  # not a block index or the end, or a self-link
            return slab._corrupt(h)
        u = s[_USED] + 1
        # Taking the last block: the list must end here (a double free that default
        # mode cannot see would otherwise hand out blocks past num_blocks).
        if u >= n and (u > n or nxt != n):
            return slab._corrupt(h)
        s[_HEAD] = nxt  # take h
        s[_USED] = u
        if u > s[_MAX]:
            s[_MAX] = u
        o = (s[_BOX] >> 1) << 1
        ptr32(p + (o - (((o >> 31) << 16) << 16)))[0] = (h << 1) | 1
        return box  # the small int h

    @micropython.viper
    def free(h):
        nonlocal box
        box = h  # h's object word is now at a known address
        p = int(a)
        s = ptr32(p)
        x = s[_BOX]
        o = (x >> 1) << 1
        f = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        w = f[0]
        hi = 0
        if x & _W64:  # 64-bit port: a small int >= 2**31 has a high half
            hi = f[1]
            f[1] = 0
        f[0] = 1  # the box holds the small int 0 again: alloc() writes only the low half
        i = w >> 1  # h's value if h is a small int below 2**31
        head = s[_HEAD]
        if (w & 1) == 0 or hi or uint(i) >= uint(s[_N]) or i == head or s[_USED] == 0:
            return slab._reject(h)  # not a small int, out of range, or already free
        if s[_WAIT]:
            return slab._handoff(h)
        o = s[_BUF]
        b = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        b[i * s[_WPB]] = head  # push i
        s[_HEAD] = i
        s[_USED] = s[_USED] - 1

    return alloc, free, point


def _fast_checked(slab, a):
    box = _MARK

    def point(x):
        nonlocal a
        a = x

    @micropython.viper
    def alloc():
        p = int(a)
        s = ptr32(p)
        bits = ptr8(p + _BITS)
        h = s[_HEAD]
        n = s[_N]
        if h == n:
            return None
        wpb = s[_WPB]
        o = s[_BUF]
        b = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        o = h * wpb
        nxt = b[o]
        if uint(nxt) > uint(n) or nxt == h:
            return slab._corrupt(h)
        if nxt < n and (bits[nxt >> 3] >> (nxt & 7)) & 1:  # links to an allocated block
            return slab._corrupt(h)
        k = 1
        while k < wpb:
            if b[o + k] != _POISON:
                return slab._poisoned(h, k * 4)
            k += 1
        bits[h >> 3] = bits[h >> 3] | (1 << (h & 7))
        s[_HEAD] = nxt
        u = s[_USED] + 1
        s[_USED] = u
        if u > s[_MAX]:
            s[_MAX] = u
        o = (s[_BOX] >> 1) << 1
        ptr32(p + (o - (((o >> 31) << 16) << 16)))[0] = (h << 1) | 1
        return box

    @micropython.viper
    def free(h):
        nonlocal box
        box = h
        p = int(a)
        s = ptr32(p)
        bits = ptr8(p + _BITS)
        x = s[_BOX]
        o = (x >> 1) << 1
        f = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        w = f[0]
        hi = 0
        if x & _W64:
            hi = f[1]
            f[1] = 0
        f[0] = 1
        i = w >> 1
        if (w & 1) == 0 or hi or uint(i) >= uint(s[_N]) or (bits[i >> 3] >> (i & 7)) & 1 == 0:
            return slab._reject(h)  # not a small int, out of range, or not allocated
        if s[_WAIT]:
            return slab._handoff(h)
        bits[i >> 3] = bits[i >> 3] & (0xFF ^ (1 << (i & 7)))
        wpb = s[_WPB]
        o = s[_BUF]
        b = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        o = i * wpb
        k = 1
        while k < wpb:
            b[o + k] = _POISON
            k += 1
        b[o] = s[_HEAD]
        s[_HEAD] = i
        s[_USED] = s[_USED] - 1

    return alloc, free, point


# -- the plain pair: no assumptions about object layout; runtime calls instead --


def _plain(slab, a, r):
    T = int  # the type; inside the viper functions `int` means the cast

    @micropython.viper
    def alloc():
        s = ptr32(int(a))
        h = s[_HEAD]
        n = s[_N]
        if h == n:
            return None
        b = ptr32(uint(s[_LO]) | ((uint(s[_HI]) << 16) << 16))
        nxt = b[h * s[_WPB]]
        if uint(nxt) > uint(n) or nxt == h:
            return slab._corrupt(h)
        u = s[_USED] + 1
        if u >= n and (u > n or nxt != n):  # the last block must end the list
            return slab._corrupt(h)
        s[_HEAD] = nxt
        s[_USED] = u
        if u > s[_MAX]:
            s[_MAX] = u
        return r[h]  # viper cannot box an int itself; a range hands back the small int

    @micropython.viper
    def free(h):
        if h.__class__ is not T:  # None, float, str, bool...: refused before int(h) raises
            return slab._reject(h)
        s = ptr32(int(a))
        i = int(h)  # truncates a big int: hence `h is not r[i]`
        head = s[_HEAD]
        if uint(i) >= uint(s[_N]) or i == head or s[_USED] == 0:
            return slab._reject(h)
        if h is not r[i]:
            return slab._reject(h)
        if s[_WAIT]:
            return slab._handoff(h)
        b = ptr32(uint(s[_LO]) | ((uint(s[_HI]) << 16) << 16))
        b[i * s[_WPB]] = head
        s[_HEAD] = i
        s[_USED] = s[_USED] - 1

    return alloc, free


def _plain_checked(slab, a, r):
    T = int  # the type; inside the viper functions `int` means the cast

    @micropython.viper
    def alloc():
        s = ptr32(int(a))
        bits = ptr8(int(a) + _BITS)
        h = s[_HEAD]
        n = s[_N]
        if h == n:
            return None
        wpb = s[_WPB]
        b = ptr32(uint(s[_LO]) | ((uint(s[_HI]) << 16) << 16))
        o = h * wpb
        nxt = b[o]
        if uint(nxt) > uint(n) or nxt == h:
            return slab._corrupt(h)
        if nxt < n and (bits[nxt >> 3] >> (nxt & 7)) & 1:  # h is not yet marked
            return slab._corrupt(h)
        u = s[_USED] + 1
        if u >= n and (u > n or nxt != n):  # the last block must end the list
            return slab._corrupt(h)
        k = 1
        while k < wpb:
            if b[o + k] != _POISON:
                return slab._poisoned(h, k * 4)
            k += 1
        bits[h >> 3] = bits[h >> 3] | (1 << (h & 7))
        s[_HEAD] = nxt
        s[_USED] = u
        if u > s[_MAX]:
            s[_MAX] = u
        return r[h]

    @micropython.viper
    def free(h):
        if h.__class__ is not T:
            return slab._reject(h)
        s = ptr32(int(a))
        bits = ptr8(int(a) + _BITS)
        i = int(h)
        if uint(i) >= uint(s[_N]) or (bits[i >> 3] >> (i & 7)) & 1 == 0:
            return slab._reject(h)
        if h is not r[i]:
            return slab._reject(h)
        if s[_WAIT]:
            return slab._handoff(h)
        bits[i >> 3] = bits[i >> 3] & (0xFF ^ (1 << (i & 7)))
        wpb = s[_WPB]
        b = ptr32(uint(s[_LO]) | ((uint(s[_HI]) << 16) << 16))
        o = i * wpb
        k = 1
        while k < wpb:
            b[o + k] = _POISON
            k += 1
        b[o] = s[_HEAD]
        s[_HEAD] = i
        s[_USED] = s[_USED] - 1

    return alloc, free
