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

    Every name the hot path reads is a local, a closure cell or a const: in
    bytecode each subscript or comparison costs about as much as a C call.
    A closure call stays off the heap only while its cells plus arguments
    number at most five.
    """
    s = words(st, 8)
    n = s[_N]
    wpb = s[_WPB]
    b = words(slab._buf, n * wpb)
    if checked:
        return _checked(slab, s, b, st, wpb)

    def alloc():
        h = s[_HEAD]
        if h == n:
            return None
        nxt = b[h * wpb]
        if nxt < 0 or nxt > n or nxt == h:  # out of range, or a self-link
            return slab._corrupt(h, nxt)
        s[_HEAD] = nxt
        u = s[_USED] + 1
        s[_USED] = u
        if u > s[_MAX]:
            s[_MAX] = u
        return h

    def free(h):
        # s[_N], not the closed-over n: a sixth value (5 cells + h) would make
        # every call allocate (closure_call's limit)
        if h.__class__ is not int or h < 0 or h >= s[_N] or h == s[_HEAD] or not s[_USED]:
            return slab._reject(h)
        if s[_WAIT]:
            return slab._handoff(h)
        b[h * wpb] = s[_HEAD]
        s[_HEAD] = h
        s[_USED] -= 1

    return alloc, free


def _checked(slab, s, b, bits, wpb):
    def alloc():
        h = s[_HEAD]
        n = s[_N]
        if h == n:
            return None
        o = h * wpb
        nxt = b[o]
        if (
            nxt < 0
            or nxt > n
            or nxt == h  # a self-link: h is not yet marked allocated
            or (nxt < n and (bits[_BITS + (nxt >> 3)] >> (nxt & 7)) & 1)
        ):
            return slab._corrupt(h, nxt)
        for k in range(1, wpb):
            if b[o + k] != _POISON:
                return slab._poisoned(h, k * 4)
        bits[_BITS + (h >> 3)] |= 1 << (h & 7)
        s[_HEAD] = nxt
        u = s[_USED] + 1
        s[_USED] = u
        if u > s[_MAX]:
            s[_MAX] = u
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
        bits[_BITS + (h >> 3)] &= 0xFF ^ (1 << (h & 7))
        o = h * s[_WPB]  # not the closed-over wpb: a sixth closure cell would allocate per call
        for k in range(o + 1, o + s[_WPB]):
            b[k] = _POISON
        b[o] = s[_HEAD]
        s[_HEAD] = h
        s[_USED] -= 1

    return alloc, free
