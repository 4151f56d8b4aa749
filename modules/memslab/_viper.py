"""memslab viper engine: the hot path compiled to machine code.

Importing this module is a SyntaxError on a port without a native emitter;
memslab/__init__.py imports it under try and falls back to _python.py.

The state lives in one small bytearray `st` shared with the Python side:
32-bit words (see _layout.py) followed, in checked mode, by one bit per block.
`alloc` and `free` are closures over `st`, so a call reads no attributes:
the call itself is the cost. Both stay below closure_call's five-argument
stack limit (closed-over variables count), so they never touch the heap.

Viper ints are 64-bit on the x64 host and 32-bit on boards; every value kept
here is a small non-negative int, and links are compared as uint so that a
corrupted (negative on a board) link is caught by the same test.
"""

import micropython
import uctypes
from micropython import const

# Word indices in `st` (kept in step with _layout.py; viper cannot import names).
_HEAD = const(0)
_USED = const(1)
_MAX = const(2)
_N = const(3)
_WPB = const(4)
_WAIT = const(5)
_LO = const(6)
_HI = const(7)
_BITS = const(32)  # byte offset of the checked-mode bitmap
_POISON = const(0x3A3A3A3A)  # below 2**30: a small int (hence a viper word) on 32-bit boards too


@micropython.viper
def build(st, buf, poison: bool):
    """Thread every block onto the free list: block i links to i + 1, the last to n."""
    s = ptr32(st)
    b = ptr32(buf)
    n = s[_N]
    wpb = s[_WPB]
    a = uint(ptr8(buf))
    s[_LO] = a
    s[_HI] = (a >> 16) >> 16  # two shifts: a 32-bit shift is undefined on 32-bit words
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
    """Return the (alloc, free) pair for this slab.

    The closures hold the state's address as a plain int: `ptr32(int(a))` is
    a cast, while `ptr32(st)` asks the bytearray for its buffer on every call
    (about 22 ns of a 103 ns pair when measured). `slab` is held too, so the state cannot
    be collected while alloc or free is still reachable.
    """
    a = uctypes.addressof(st)
    if checked:
        return _checked(slab, a, r)

    @micropython.viper
    def alloc():
        s = ptr32(int(a))
        h = s[_HEAD]
        n = s[_N]
        if h == n:
            return None
        b = ptr32(uint(s[_LO]) | ((uint(s[_HI]) << 16) << 16))
        nxt = b[h * s[_WPB]]
        if uint(nxt) > uint(n) or nxt == h:  # out of range, or a self-link (aliasing)
            return slab._corrupt(h, nxt)
        s[_HEAD] = nxt
        u = s[_USED] + 1
        s[_USED] = u
        if u > s[_MAX]:
            s[_MAX] = u
        return r[h]  # viper cannot box an int itself; a range hands back the small int

    @micropython.viper
    def free(h):
        s = ptr32(int(a))
        i = int(h)  # truncates a big int (or reads a bool as 0/1): hence `h is not r[i]`
        head = s[_HEAD]
        if uint(i) >= uint(s[_N]) or i == head or s[_USED] == 0 or h is not r[i]:
            return slab._reject(h)
        if s[_WAIT]:
            return slab._handoff(h)
        b = ptr32(uint(s[_LO]) | ((uint(s[_HI]) << 16) << 16))
        b[i * s[_WPB]] = head
        s[_HEAD] = i
        s[_USED] = s[_USED] - 1

    return alloc, free


def _checked(slab, a, r):
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
        if uint(nxt) > uint(n):
            return slab._corrupt(h, nxt)
        if nxt == h or (nxt < n and (bits[nxt >> 3] >> (nxt & 7)) & 1):  # h is not yet marked
            return slab._corrupt(h, nxt)
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
        return r[h]

    @micropython.viper
    def free(h):
        s = ptr32(int(a))
        bits = ptr8(int(a) + _BITS)
        i = int(h)
        if uint(i) >= uint(s[_N]) or h is not r[i] or (bits[i >> 3] >> (i & 7)) & 1 == 0:
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
