"""memslab viper engine: the hot path compiled to machine code.

How it works is told in the comment below (a comment, not a docstring: a
4 KB string could not be compiled from source on a 64 KB heap).
"""

# Importing this module is a SyntaxError on a port without a native emitter;
# memslab/__init__.py imports it under try and falls back to _python.py.
#
# State: the slab's bytearray `st`, 32-bit words laid out in _layout.py; this
# module keeps const() copies of the numbers (viper code cannot read module
# globals for free). Words 6 and 7 are this engine's own, written by make():
#     6 BUF   the blocks' address minus the state's, mod 2**32
#     7 BOX   the box's value-word address minus the state's, mod 2**32,
#             + 1 on a 64-bit port, + 2 when checked (bits 0 and 1 are free:
#             the address is word-aligned)
# build() writes neither. Call build() first, then make() once per state.
#
# Why the pair looks odd
# ----------------------
# `alloc` and `free` are closures (one pair per slab). Measured on x64, the
# closure call itself is most of the pair's cost; what is left to win is in
# the body, where every *runtime call* (machine code calling back into
# MicroPython's C helpers) costs 5-7 ns. The straightforward viper body needs
# up to seven: unboxing the state address, boxing the returned index (`r[h]`:
# viper cannot make an int object itself), and in free() h's type test,
# unboxing h and an `is` test that refuses big ints. This pair makes one (the
# state address) and does the rest with plain memory reads and writes, using
# two facts about MicroPython's object model:
#
# 1. A small int is not a heap object: the object *is* the machine word
#    (v << 1) | 1. So alloc() can make its return value by writing that word.
# 2. A closure keeps each closed-over variable in a "cell", a two-word heap
#    object [type, value], and machine code reads and writes the value word
#    inline (no runtime call). The pair shares one cell, `box`, and make()
#    finds where its value word lives in memory.
#
# alloc() writes (h << 1) | 1 into the box's value word and returns the box:
# the caller receives the small int h. free(h) stores h into the box (an
# inline store), reads the word back through a pointer and at once puts the
# small int 0 back (so the box's high half is 0 whenever alloc() writes the
# low half, and the box never keeps a rejected object alive): h is a block
# index iff the low bit is 1 (a small int, not a pointer to a float, str, big
# int, None or bool) and (word >> 1) is in range; on a 64-bit port the high
# half must be 0 too (else h is a small int >= 2**31).
#
# Offsets, not addresses, are kept so that all of it fits the state's eight
# words (a slab costs no more heap than before): the closures hold the state's
# address (`int(state_at)` is the one runtime call left) and add the offsets.
# On a 32-bit board any offset works (the sum wraps mod 2**32); on a 64-bit
# port each must fit 32 signed bits (true inside one GC heap).
#
# Every assumption is checked when the slab is built (_check): word size, byte
# order, the small-int encoding (id(v) == (v << 1) | 1), the closure and cell
# layout (the box is found by a marker value, never assumed), the offsets. The
# real code is run once per process by memslab's engine self-check (a scratch
# slab: alloc, free, a wrong free) before viper is used at all. If anything
# differs, make() returns the python engine's pair over the same state: the
# same results, slower. `FAST = False` forces that fallback on viper slabs
# (tests drive both paths; compiled slabs do not look at it); `PATH` says which pair the last make() built, and why not the fast one.
#
# Interrupts: the box belongs to one slab's pair. A hard IRQ landing between
# the box write and the return can disturb it only by calling alloc/free of
# the *same* slab, which already needs threadsafe=True (the whole call then
# runs under the guard); micropython.schedule callbacks never run inside viper
# code. A nested free() (free -> slab._reject/_handoff -> the raw free) starts
# after the outer one has read the box. The box only ever holds small ints,
# which the garbage collector ignores.
#
# Viper ints are 64-bit on the x64 host and 32-bit on boards; every value kept
# here is a small non-negative int, and links are compared as uint so that a
# corrupted link (negative on a board) is caught by the same test and is never
# boxed (the slow paths get only h; the slab re-reads the link itself).

import micropython
import sys
import uctypes
from micropython import const

from . import _words as words

# Word indices in `st` (copies of _layout.py; viper cannot import names).
_HEAD = const(0)
_USED = const(1)
_MAX = const(2)
_N = const(3)
_WPB = const(4)
_WAIT = const(5)
_BUF = const(6)  # this engine's own words (see above)
_BOX = const(7)
_W64 = const(1)  # bit 0 of BOX: a 64-bit port
_CHK = const(2)  # bit 1 of BOX: checked=True
_BITS = const(32)  # byte offset of the checked-mode bitmap
_POISON = const(0x3A3A3A3A)  # below 2**30: a small int (hence a viper word) on 32-bit boards too
_MARK = const(0x2A5A1)  # the box's first value, by which make() finds the box's cell
MARK = _MARK  # the same, for _compiled.py

FAST = True  # False: make() returns the fallback pair (for tests of the fallback)
PATH = None  # "fast", or "python: <why not>", set by every make()
RECOMPILED = None  # why build() and the pair were compiled at run time (_selfcheck.recompile)


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


def compiled():
    """engine="compiled": its module, loaded for each compiled slab and
    dropped again once the slab is built (_compiled.make), unless the program
    imported it itself; None if it cannot be loaded (its module needs pieces
    of 1 KB and more while it loads, which a nearly full heap may lack): the
    slab then gets this engine's pair, and memslab.COMPILED_ERROR says why.
    Here, not in the package: every line there is heap for every program."""
    import memslab

    memslab.COMPILED_ERROR = None
    keep = __name__.replace("_viper", "_compiled") in sys.modules
    try:
        from . import _compiled
    except Exception as e:  # noqa: BLE001 - any failure here means: use the viper pair
        memslab.COMPILED_ERROR = "import memslab._compiled failed: %s: %s" % (type(e).__name__, e)
        return None
    _compiled.KEEP = keep
    return _compiled


def make(slab, st, checked):
    """Return the (alloc, free) pair for this slab: the fast pair if it checks out,
    else the python engine's pair over the same state."""
    global PATH
    alloc, free = _fast(slab, uctypes.addressof(st))
    why = _check(slab, st, checked, alloc, free) if FAST else 4
    if why:  # the texts are in _explain: from a .mpy each would be heap for good
        from . import _explain, _python  # loaded only when needed

        PATH = _explain.viper_path(why)
        return _python.make(slab, st, checked)  # the same results, in bytecode
    PATH = "fast"
    return alloc, free


def word_size():
    """8 or 4 if the object model is the one the box trick needs, else 0: a
    machine word of that size, little-endian, a small int is (v << 1) | 1
    (id() of a small int is its object word)."""
    # No constant >= 2**30 here: each would be a big int built at import on a
    # 32-bit board, and kept with this module's code (heap for good).
    m = sys.maxsize
    w = 8 if m >> 32 else 4
    if m != (1 << w * 8 - 1) - 1 or getattr(sys, "byteorder", "") != "little":
        return 0
    return w if id(MARK) == (MARK << 1) | 1 else 0


def find_box(alloc, free, w):
    """The address of the value word of the cell both closures share, whose
    value is MARK; None if the closures are not laid out as expected.

    A closure is [type, function, n_closed, cell 0, cell 1, ...] and a cell
    [type, value], a machine word each (py/objclosure.c, objcell.c)."""
    desc = {"v": (uctypes.UINT64 if w == 8 else uctypes.UINT32) | 0}  # one word at offset 0
    found = []
    for fn in (alloc, free):
        n = uctypes.struct(id(fn) + 2 * w, desc).v if type(fn).__name__ == "closure" else 0
        for k in range(n if n <= 5 else 0):  # our closures have 3; a wild count: none read
            cell = uctypes.struct(id(fn) + (3 + k) * w, desc).v + w
            if uctypes.struct(cell, desc).v == id(MARK):
                found.append(cell)
    return found[0] if len(found) == 2 and found[0] == found[1] else None


def _check(slab, st, checked, alloc, free):
    """Verify what the fast pair assumes about this port and this slab, then
    fill words 6 and 7 of `st`. Returns 0, or what differs: 1 the object
    model, 2 the closure layout, 3 the offsets (_explain.viper_path)."""
    w = word_size()
    if not w:
        return 1
    box = find_box(alloc, free, w)
    if box is None:
        return 2
    # The offsets: any on a 32-bit board; within 32 signed bits on a 64-bit port
    # (d >> 31 is 0 or -1 exactly there). The words are INT32: storing an int
    # keeps its low 32 bits (mod 2**32), with no mask constant >= 2**30 (see
    # word_size). e's low two bits are 0 (a word address), free for the flags.
    a = uctypes.addressof(st)
    d = uctypes.addressof(slab.buffer) - a
    e = box - a
    if w == 8 and not (d >> 31 in (0, -1) and e >> 31 in (0, -1)):
        return 3
    s = words(st, 8)
    s[_BUF] = d
    s[_BOX] = e | (_W64 if w == 8 else 0) | (_CHK if checked else 0)
    return 0


# In the bodies below, `p + (o - (((o >> 31) << 16) << 16))` turns an offset
# word o into an address: on a 64-bit port the load zero-extends o and this
# sign-extends it; on a 32-bit board the correction is 0 and the sum wraps.
# One body serves both modes (bit 1 of BOX says checked): half the machine code.


def _fast(slab, state_at):
    box = _MARK  # alloc's result and free's argument pass through this cell

    @micropython.viper
    def alloc():
        p = int(state_at)  # the state's address (this slab's words 0-7)
        s = ptr32(p)
        h = s[_HEAD]
        n = s[_N]
        if h == n:  # empty
            return None
        x = s[_BOX]
        wpb = s[_WPB]
        o = s[_BUF]
        b = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        o = h * wpb
        nxt = b[o]
        if uint(nxt) > uint(n) or nxt == h:  # not a block index or the end, or a self-link
            return slab._corrupt(h)
        bits = ptr8(p + _BITS)
        if x & _CHK:
            if nxt < n and (bits[nxt >> 3] >> (nxt & 7)) & 1:  # links to an allocated block
                return slab._corrupt(h)
            k = 1
            while k < wpb:
                if b[o + k] != _POISON:
                    return slab._poisoned(h, k * 4)
                k += 1
        u = s[_USED] + 1
        # Taking the last block: the list must end here (a double free that default
        # mode cannot see would otherwise hand out blocks past num_blocks).
        if u >= n and (u > n or nxt != n):
            return slab._corrupt(h)
        if x & _CHK:
            bits[h >> 3] = bits[h >> 3] | (1 << (h & 7))
        s[_HEAD] = nxt  # take h
        s[_USED] = u
        if u > s[_MAX]:
            s[_MAX] = u
        o = (x >> 2) << 2
        ptr32(p + (o - (((o >> 31) << 16) << 16)))[0] = (h << 1) | 1
        return box  # the small int h

    @micropython.viper
    def free(h):
        nonlocal box
        box = h  # h's object word is now at a known address
        p = int(state_at)  # the state's address (this slab's words 0-7)
        s = ptr32(p)
        x = s[_BOX]
        o = (x >> 2) << 2
        f = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        w = f[0]
        hi = 0
        if x & _W64:  # 64-bit port: a small int >= 2**31 has a high half
            hi = f[1]
            f[1] = 0
        f[0] = 1  # the box holds the small int 0 again: alloc() writes only the low half
        i = w >> 1  # h's value if h is a small int below 2**31
        if (w & 1) == 0 or hi or uint(i) >= uint(s[_N]):
            return slab._reject(h)  # not a small int, or out of range
        head = s[_HEAD]
        bits = ptr8(p + _BITS)
        if x & _CHK:
            if (bits[i >> 3] >> (i & 7)) & 1 == 0:  # not allocated
                return slab._reject(h)
        elif i == head or s[_USED] == 0:  # already free (the cheap test)
            return slab._reject(h)
        if s[_WAIT]:
            return slab._handoff(h)
        wpb = s[_WPB]
        o = s[_BUF]
        b = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        o = i * wpb
        if x & _CHK:
            bits[i >> 3] = bits[i >> 3] & (0xFF ^ (1 << (i & 7)))
            k = 1
            while k < wpb:
                b[o + k] = _POISON
                k += 1
        b[o] = head  # push i
        s[_HEAD] = i
        s[_USED] = s[_USED] - 1

    return alloc, free
