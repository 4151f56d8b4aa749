"""memslab pure-Python engine: runs on every port, same results as _viper.py.

It reads the 32-bit words of the state and of the blocks through uctypes
arrays laid over the bytearrays, so a link is one subscript and nothing is
allocated. The layout and the checks are those of _viper.py, line for line.
"""

import uctypes
from micropython import const

# const(): the compiler folds these into the bytecode; a plain module-level
# name would be a dictionary lookup on every use in the hot path.
_HEAD = const(0)
_USED = const(1)
_MAX = const(2)
_N = const(3)
_WPB = const(4)
_WAIT = const(5)
_BITS = const(32)  # byte offset of the checked-mode bitmap in `st`
_POISON = const(0x3A3A3A3A)  # same pattern as _viper.py: bytes 0x3A, below 2**30


def words(buf, count):
    """A uctypes array of `count` native int32 over `buf` (no copy)."""
    desc = {"w": (uctypes.ARRAY | 0, uctypes.INT32 | count)}
    return uctypes.struct(uctypes.addressof(buf), desc, uctypes.NATIVE).w


def build(st, buf, poison):
    """Thread every block onto the free list: block i links to i + 1, the last to n."""
    s = words(st, 8)
    n = s[_N]
    wpb = s[_WPB]
    b = words(buf, n * wpb)
    for i in range(n):
        o = i * wpb
        b[o] = i + 1
        if poison:
            for k in range(o + 1, o + wpb):
                b[k] = _POISON


def make(slab, st, r, checked):
    """Return the (alloc, free) pair for this slab (`r` is unused: ints box for free).

    Every name the hot path reads is a local, a closure cell or a const.
    Two limits keep a call off the heap: cells plus arguments at most five
    (closure_call), and locals + cells + stack at most 11 words (a bigger
    bytecode frame is heap-allocated): hence s[_N] rather than a cell for n.
    """
    s = words(st, 8)
    wpb = s[_WPB]
    b = words(slab._buf, s[_N] * wpb)
    if checked:
        return _checked(slab, s, b, st)

    def alloc():
        h = s[_HEAD]
        if h == s[_N]:
            return None
        nxt = b[h * wpb]
        if nxt < 0 or nxt > s[_N] or nxt == h:  # out of range, or a self-link
            return slab._corrupt(h, nxt)
        s[_HEAD] = nxt
        u = s[_USED] + 1
        s[_USED] = u
        if u > s[_MAX]:
            s[_MAX] = u
        return h

    def free(h):
        if h.__class__ is not int or h < 0 or h >= s[_N] or h == s[_HEAD] or not s[_USED]:
            return slab._reject(h)
        if s[_WAIT]:
            return slab._handoff(h)
        b[h * wpb] = s[_HEAD]
        s[_HEAD] = h
        s[_USED] -= 1

    return alloc, free


def _checked(slab, s, b, bits):
    # Frames stay small on purpose: a bytecode call whose locals, cells and
    # stack exceed 11 words gets its frame from the heap (VM_MAX_STATE_ON_STACK),
    # so the block checks live in two helpers and loops are `while` loops
    # (a `for` keeps a 4-word iterator on the stack).
    def alloc():
        h = s[_HEAD]
        if h == s[_N]:
            return None
        nxt = _take(slab, b, h)  # raises SlabCorruptedError
        s[_HEAD] = nxt
        nxt = s[_USED] + 1
        s[_USED] = nxt
        if nxt > s[_MAX]:
            s[_MAX] = nxt
        return h

    def free(h):
        if (
            h.__class__ is not int
            or h < 0
            or h >= s[_N]
            or not (bits[_BITS + (h >> 3)] >> (h & 7)) & 1
        ):
            return slab._reject(h)
        if s[_WAIT]:
            return slab._handoff(h)
        _release(slab, b, h)
        b[h * s[_WPB]] = s[_HEAD]
        s[_HEAD] = h
        s[_USED] -= 1

    return alloc, free


def _take(slab, b, h):
    """Check that free block h is sound, mark it owned, return its link.

    Raises SlabCorruptedError (nothing changed) if the block is not sound.
    """
    n = slab.num_blocks
    o = h * (slab.block_size >> 2)
    nxt = b[o]
    if nxt < 0 or nxt > n or nxt == h:  # out of range, or a self-link (h is unmarked)
        return slab._corrupt(h, nxt)
    if nxt < n and (slab._st[_BITS + (nxt >> 3)] >> (nxt & 7)) & 1:  # links to an owned block
        return slab._corrupt(h, nxt)
    n = o + (slab.block_size >> 2) - 1  # now the last word of the block
    while n > o:
        if b[n] != _POISON:
            return slab._poisoned(h, (n - o) * 4)
        n -= 1
    o = 1 << (h & 7)  # precomputed: a deeper expression would grow the frame
    n = _BITS + (h >> 3)
    slab._st[n] |= o
    return nxt


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
