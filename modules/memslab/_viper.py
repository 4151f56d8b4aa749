"""memslab viper engine: the hot path compiled to machine code.

How it works is told in the comment below (a comment, not a docstring: a
4 KB string could not be compiled from source on a 64 KB heap).
"""

# Importing this module is a SyntaxError on a port without a native emitter;
# memslab/__init__.py imports it under try and falls back to _python.py.
#
# State: the slab's bytearray `st`, 32-bit words laid out in _layout.py; this
# module keeps const() copies of the numbers (viper code cannot read module
# globals for free). Words 6 to 11 are this engine's own, written by make():
#     6 BUF   the blocks' address minus the state's, + BIAS, mod 2**32
#     7 CHECKED  1 when checked
#     8-11    the box: a cell object (see below) whose value is word 10; word
#             11 is its high half on a 64-bit port, an unused 0 on a 32-bit one
# build() writes none of them. Call build() first, then make() once per state.
#
# Why the pair looks odd
# ----------------------
# `alloc` and `free` are closures (one pair per slab). On a board the closure
# call itself is half the pair's cost; what is left to win is in the body,
# where every *runtime call* (machine code calling back into MicroPython's C
# helpers) costs about as much as ten lines of viper, and every line counts
# (viper keeps all but two locals in memory on ARMv6-M). The straightforward
# viper body needs up to seven runtime calls: unboxing the state address,
# boxing the returned index (`r[h]`: viper cannot make an int object itself),
# and in free() h's type test, unboxing h and an `is` test that refuses big
# ints. This pair makes one (the state address) and does the rest with plain
# memory reads and writes, using two facts about MicroPython's object model:
#
# 1. A small int is not a heap object: the object *is* the machine word
#    (v << 1) | 1. So alloc() can make its return value by writing that word.
# 2. A closure keeps each closed-over variable in a "cell", a two-word object
#    [type, value], and machine code reads and writes the value word inline
#    (no runtime call). The pair shares one cell, `box`; make() moves it into
#    the state (find_box) (words 8-11 become a cell object, and both closures are pointed
#    at it), so its value word is word 10: no address to work out per call.
#
# alloc() writes (h << 1) | 1 into word 10 and returns the box: the caller
# receives the small int h. free(h) stores h into the box (an inline store)
# and reads the word back as word 10: h is a block index iff the low bit is 1
# (a small int, not a pointer to a float, str, big int, None or bool), the
# high half (word 11) is 0 (else, on a 64-bit port, h >= 2**31) and
# (word >> 1) is in range. One unsigned compare tests all three. At once the
# box holds the small int 0 again, its high half 0 (alloc() writes only the
# low half).
#
# The blocks are found from the state's address (`int(state_at)` is the one
# runtime call left) and word 6, an offset: on a 32-bit board any offset
# works (the sum wraps mod 2**32). On a 64-bit port the word reads back
# zero-extended, so it holds the offset + BIAS, which must fit 32 unsigned
# bits (true inside one GC heap), and the pair subtracts BIAS again.
#
# Every assumption is checked when the slab is built (_check): word size, byte
# order, the small-int encoding (id(v) == (v << 1) | 1), the closure and cell
# layout (the box is found by a marker value, never assumed), the offset. The
# real code is run once per process by memslab's engine self-check (a scratch
# slab: alloc, free, a wrong free) before viper is used at all. If anything
# differs, make() returns the python engine's pair over the same state: the
# same results, slower. `FAST = False` forces that fallback on viper slabs
# (tests drive both paths; compiled slabs do not look at it); `PATH` says which pair the last make() built, and why not the fast one.
#
# The moved box is a cell inside the state's bytes: the garbage collector
# never follows a pointer into the middle of a block (the state is kept
# alive by the slab, which both closures hold), and the box only ever holds
# small ints, or a rejected h for the moment free() takes to refuse it.
#
# Interrupts: the box belongs to one slab's pair. A hard IRQ landing between
# the box write and the return can disturb it only by calling alloc/free of
# the *same* slab, which already needs threadsafe=True (the whole call then
# runs under the guard); micropython.schedule callbacks never run inside viper
# code. A nested free() (free -> slab._reject/_handoff -> the raw free) starts
# after the outer one has read the box.
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
_CHECKED = const(7)
_VAL = const(10)  # the box's value word (the cell is words 8-11)
_HI = const(11)  # its high half on a 64-bit port
_BITS = const(48)  # byte offset of the checked-mode bitmap
_BIAS = const(0x3FFFFFFC)  # added to word 6 (see above); a small int on every board
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
    alloc, free = _fast(uctypes.addressof(st), slab)
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


def find_box(alloc, free, w, addr=0):
    """The address of the value word of the cell both closures share, whose
    value is MARK; None if the closures are not laid out as expected.

    A closure is [type, function, n_closed, cell 0, cell 1, ...] and a cell
    [type, value], a machine word each (py/objclosure.c, objcell.c).
    With `addr`, the box moves there first (2 words made a cell whose value is
    the small int 0, both closures pointed at it; the old cell is garbage),
    and the new value word's address is returned. (`addr`: a name every
    firmware has interned already; a new one would be heap on a board.)"""
    desc = {"v": (uctypes.UINT64 if w == 8 else uctypes.UINT32) | 0}  # one word at offset 0
    found = []
    for fn in (alloc, free):
        n = uctypes.struct(id(fn) + 2 * w, desc).v if type(fn).__name__ == "closure" else 0
        for k in range(n if n <= 5 else 0):  # our closures have 3; a wild count: none read
            slot = uctypes.struct(id(fn) + (3 + k) * w, desc)
            if uctypes.struct(slot.v + w, desc).v == id(MARK):
                found.append(slot)
    if len(found) != 2 or found[0].v != found[1].v:
        return None
    if addr:
        # Its type (a cell's), then its value: the small int 0.
        for at, v in ((addr, uctypes.struct(found[0].v, desc).v), (addr + w, 1)):
            uctypes.struct(at, desc).v = v  # pyright: ignore[reportAttributeAccessIssue]
        for slot in found:
            slot.v = addr
    return found[0].v + w


def _check(slab, st, checked, alloc, free):
    """Verify what the fast pair assumes about this port and this slab, move
    the box and fill words 6 and 7 of `st`. Returns 0, or what differs: 1 the
    object model, 2 the closure layout, 3 the offset (_explain.viper_path)."""
    w = word_size()
    if not w:
        return 1
    # The box moves into the state: bytes 40 - w to 47 (its value is word 10).
    if find_box(alloc, free, w, uctypes.addressof(st) + 40 - w) is None:
        return 2
    # On a 64-bit port, the word must read back as this number: 0 <= d < 2**32.
    # (On a 32-bit board any d works: the INT32 word keeps its low 32 bits.)
    d = uctypes.addressof(slab.buffer) - uctypes.addressof(st) + _BIAS
    if w == 8 and d >> 32:
        return 3
    s = words(st, 12)
    s[_BUF] = d
    s[_CHECKED] = 1 if checked else 0
    return 0


# The bodies below are written for viper's code generator: a test of an
# int (`if h - n:`) is cheaper than a comparison (`if h != n:`), which first
# makes a bool. One body serves both modes (word 7 says checked): half the
# machine code.


def _fast(state_at, slab):
    box = _MARK  # alloc's result and free's argument pass through this cell

    @micropython.viper
    def alloc():
        s = ptr32(int(state_at))  # this slab's words
        h = s[_HEAD]
        n = s[_N]
        if h - n:  # not empty
            o = h * s[_WPB]
            b = ptr32(int(s) - _BIAS + s[_BUF])
            nxt = b[o]
            if uint(nxt) > uint(n):  # not a block index or the end
                return slab._corrupt(h)
            if nxt - h:
                pass
            else:  # a self-link
                return slab._corrupt(h)
            u = s[_USED] + 1
            # Taking the last block: the list must end here (a double free that default
            # mode cannot see would otherwise hand out blocks past num_blocks).
            if u >= n and (u > n or nxt != n):
                return slab._corrupt(h)
            if s[_CHECKED]:  # (one test: each check says "corrupt", _explain says why)
                bits = ptr8(int(s) + _BITS)
                if nxt < n and (bits[nxt >> 3] >> (nxt & 7)) & 1:  # links to an allocated block
                    return slab._corrupt(h)
                wpb = s[_WPB]
                k = 1
                while k < wpb:
                    if b[o + k] != _POISON:
                        return slab._poisoned(h, k * 4)
                    k += 1
                bits[h >> 3] = bits[h >> 3] | (1 << (h & 7))
            s[_HEAD] = nxt  # take h
            s[_USED] = u
            if u > s[_MAX]:
                s[_MAX] = u
            s[_VAL] = (h << 1) | 1
            return box  # the small int h
        return None  # empty

    @micropython.viper
    def free(h):
        nonlocal box
        box = h  # h's object word is now word 10 (and 11)
        s = ptr32(int(state_at))  # this slab's words
        j = s[_VAL] - 1
        hi = s[_HI]
        s[_VAL] = 1  # the box holds the small int 0 again
        s[_HI] = 0  # alloc() writes only the low half
        # h's value if h is a small int below 2**31; else bit 31 is set: j is odd
        # (not a small int) or the high half is not 0. So one compare.
        i = (j >> 1) | (((j & 1) | hi) << 31)
        if uint(i) >= uint(s[_N]):
            return slab._reject(h)  # not a small int, or out of range
        head = s[_HEAD]
        o = i * s[_WPB]
        b = ptr32(int(s) - _BIAS + s[_BUF])
        if s[_CHECKED]:
            bits = ptr8(int(s) + _BITS)
            if (bits[i >> 3] >> (i & 7)) & 1 == 0:  # not allocated
                return slab._reject(h)
            if s[_WAIT]:
                return slab._handoff(h)
            bits[i >> 3] = bits[i >> 3] & (0xFF ^ (1 << (i & 7)))
            wpb = s[_WPB]
            k = 1
            while k < wpb:
                b[o + k] = _POISON
                k += 1
        else:  # already free (the cheap test): h is the head, or none is in use
            if i - head:
                pass
            else:
                return slab._reject(h)
            if s[_USED]:
                pass
            else:
                return slab._reject(h)
            if s[_WAIT]:
                return slab._handoff(h)
        b[o] = head  # push i
        s[_HEAD] = i
        s[_USED] = s[_USED] - 1

    return alloc, free
