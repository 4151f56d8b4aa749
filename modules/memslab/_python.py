"""memslab pure-Python engine: runs on every port, same results as _viper.py."""

# It reads the 32-bit words of the state and of the blocks through uctypes
# arrays laid over the bytearrays, so a link is one subscript and nothing is
# allocated. The layout and the checks are those of _viper.py.
#
# Small ints hold 31 bits on a 32-bit board: reading a word >= 2**30 as an int
# boxes a big int there, a MemoryError under heap_lock() (a hard IRQ) instead
# of SlabCorruptedError. So before a link or a poison word is read as an int,
# its top byte is looked at (>= 0x40 means >= 2**30 or negative), on every
# port: one code path, tested on the host as it runs on a board.
#
# Every call costs its bytecode: about 15 ns per subscript or compare on an
# x64 host, so the bodies read each word once and keep what they need in
# locals. Two limits keep a call off the heap: closed-over names plus
# arguments at most five (closure_call), and locals + cells + operand stack at
# most 11 words (a bigger bytecode frame is heap-allocated).

import sys
import uctypes
from micropython import const

from . import MemSlab, SlabCorruptedError
from . import _words as words

# const(): the compiler folds these into the bytecode; a plain module-level
# name would be a dictionary lookup on every use in the hot path.
_HEAD = const(0)
_USED = const(1)
_MAX = const(2)
_N = const(3)
_WPB = const(4)
_WAIT = const(5)
_BITS = const(48)  # byte offset of the checked-mode bitmap in `st`
_POISON = const(0x3A3A3A3A)  # same pattern as _viper.py: bytes 0x3A, below 2**30


def _recheck(slab, h):
    """slab._recheck(h), the python engine's slow path (installed on MemSlab
    when this engine loads: the package need not carry it): alloc() found
    free block h (the head) unsound; raise SlabCorruptedError if it is, at
    one instant; return None if it is sound or no longer the head. The checks
    run between jumps, where a micropython.schedule callback may take block h
    and write it, so a failed check is not proof (_explain.refused decides on
    copies)."""
    return slab._refuse(h, SlabCorruptedError)


MemSlab._recheck = _recheck  # pyright: ignore[reportAttributeAccessIssue]


def build(st, buf, poison):
    """Thread every block onto the free list: block i links to i + 1, the last to n."""
    s = words(st, 12)
    n = s[_N]
    wpb = s[_WPB]
    b = words(buf, n * wpb)
    for i in range(n):
        o = i * wpb
        b[o] = i + 1
        if poison:
            for k in range(o + 1, o + wpb):
                b[k] = _POISON


def make(slab, st, checked):
    """Return the (alloc, free) pair for this slab."""
    s = slab._sw  # the slab's own uctypes view of `st` (one view less on the heap)
    wpb = s[_WPB]
    nbytes = s[_N] * wpb * 4
    # Links as UINT32: a corrupt link is never negative, one compare refuses it.
    b = words(slab.buffer, nbytes >> 2, uctypes.UINT32)
    t = slab.buffer  # t[4 * k + 3]: the most significant byte of word k (little-endian)
    if sys.byteorder != "little":  # no such MicroPython port is known; be right anyway
        t = uctypes.bytearray_at(uctypes.addressof(t) - 3, nbytes + 3)
    if checked:
        return _checked(slab, s, b, t, st)

    def alloc():
        while True:  # once, unless a scheduled callback took the head meanwhile
            h = s[_HEAD]
            n = s[_N]
            if h == n:  # empty
                return None
            # A check that fails may have read a block that a scheduled callback
            # took meanwhile (and wrote): slab._recheck(h) raises only if h is
            # unsound at one instant, else returns and we look again.
            nxt = h * wpb
            if t[(nxt << 2) | 3] >= 0x40:  # link >= 2**30: never read it as an int
                slab._recheck(h)
                continue
            nxt = b[nxt]
            if nxt > n or nxt == h:  # not a block index nor the end, or a self-link
                slab._recheck(h)
                continue
            # Taking the last block: the list must end here. A double free that
            # default mode cannot see would otherwise hand out blocks past n.
            n = s[_USED] + 1 - n  # now (num_used after taking h) - num_blocks
            if n >= 0 and (n or nxt != s[_N]):
                slab._recheck(h)
                continue
            # Take h. A micropython.schedule callback runs at any jump above, and
            # may have allocated or freed meanwhile: from here to the last store
            # there is no jump (no if/and/or), so nothing can cut in, and h is
            # taken only if it is still the head and still links to nxt. The
            # arithmetic selects without a branch; `n` is 0 (take) or -1 (lost).
            # (Expressions are split: frame = 3 locals + 5 cells + 3 stack words.)
            n = b[h * wpb] == nxt
            n = (n & (s[_HEAD] == h)) - 1
            nxt = nxt * (n + 1) - s[_HEAD] * n  # the new head: nxt, or unchanged
            s[_HEAD] = nxt
            n += 1
            s[_USED] = s[_USED] + n
            nxt = s[_USED]
            s[_MAX] = max(s[_MAX], nxt)
            if n:
                return h

    def free(h):
        if h.__class__ is not int or h < 0 or h >= s[_N]:
            return slab._reject(h)  # not an int, or out of range
        if h == s[_HEAD] or not s[_USED]:  # already free (the cheap test)
            return slab._reject(h)
        if s[_WAIT]:
            return slab._handoff(h)
        # Push h: no jump from here to the end (see alloc), so the head and
        # the count are read and written with nothing in between.
        x = s[_HEAD]
        s[_HEAD] = h
        # h may be a long int of small value (a handle kept in array('q')):
        # arithmetic on it would allocate; the word read back is a small int.
        h = s[_HEAD]
        b[h * wpb] = x
        s[_USED] = s[_USED] - 1

    return alloc, free


def _checked(slab, s, b, t, bits):
    # Frames stay small on purpose: a bytecode call whose locals, cells and
    # stack exceed 11 words gets its frame from the heap (VM_MAX_STATE_ON_STACK),
    # so the block checks live in two helpers and loops are `while` loops
    # (a `for` keeps a 4-word iterator on the stack). The bitmap catches every
    # double free, so the default mode's last-block guard is not needed here.
    def alloc():
        while True:  # once, unless a scheduled callback took the head meanwhile
            h = s[_HEAD]
            if h == s[_N]:
                return None
            if _take(slab, b, t, h):  # checks block h and takes it, or raises
                return h

    def free(h):  # cells + argument: 5, the most closure_call takes off the heap
        if h.__class__ is not int or h < 0 or h >= s[_N] or slab._r[h] is not h:
            return slab._reject(h)
        if not (bits[_BITS + (h >> 3)] >> (h & 7)) & 1:  # not allocated
            return slab._reject(h)
        if s[_WAIT]:
            return slab._handoff(h)
        _release(slab, b, h)
        b[h * s[_WPB]] = s[_HEAD]
        s[_HEAD] = h
        s[_USED] -= 1

    return alloc, free


def _take(slab, b, t, h):
    """Check that free block h (the head) is sound, then take it; 1 if taken,
    0 or None if a scheduled callback changed the head meanwhile (look again).

    A failed check asks slab._recheck(h), which raises SlabCorruptedError
    (nothing changed) if the block is unsound at one instant, else returns
    None: the check read a block that a callback took meanwhile.
    Each word's top byte is looked at first, so a word >= 2**30 is never read
    as an int. Expressions are split so that the operand stack
    stays small: 4 arguments + 3 locals + at most 4 stack words fit the 11
    words a frame may take on the C stack.
    """
    n = slab.num_blocks
    o = h * (slab.block_size >> 2)
    if t[(o << 2) | 3] >= 0x40:  # link >= 2**30 (see the module docstring)
        return slab._recheck(h)
    nxt = b[o]
    if nxt > n or nxt == h:  # out of range, or a self-link (h is unmarked)
        return slab._recheck(h)
    if nxt < n:
        n = nxt >> 3
        n = slab._st[n + _BITS]
        if (n >> (nxt & 7)) & 1:  # links to an allocated block
            return slab._recheck(h)
    n = slab.block_size >> 2
    n = o + n - 1  # the last word of the block
    while n > o:
        if t[(n << 2) | 3] != 0x3A or b[n] != _POISON:
            return slab._recheck(h)  # it names the first byte that lost the poison
        n -= 1
    # Take h, if it is still the head and still links to nxt: no jump from
    # here to the end, so a micropython.schedule callback cannot cut in (see
    # the default alloc in make()). n is 0 (take) or -1 (lost the race).
    o = slab._sw
    n = slab.block_size >> 2
    n = b[h * n] == nxt
    n = (n & (o[_HEAD] == h)) - 1
    nxt = nxt * (n + 1) - o[_HEAD] * n  # the new head: nxt, or unchanged
    o[_HEAD] = nxt
    n += 1
    o[_USED] = o[_USED] + n
    nxt = o[_USED]
    o[_MAX] = max(o[_MAX], nxt)
    o = (1 << (h & 7)) * n  # h's bit, or 0 when not taken
    nxt = (h >> 3) + _BITS
    slab._st[nxt] |= o  # mark h allocated
    return n


def _release(slab, b, h):
    """Clear block h's owned bit and poison words 1.. of it."""
    o = _BITS + (h >> 3)
    m = 0xFF ^ (1 << (h & 7))
    slab._st[o] &= m
    o = slab.block_size >> 2
    h *= o
    o += h
    h += 1
    while h < o:
        b[h] = _POISON
        h += 1
