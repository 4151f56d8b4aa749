"""BlockQueue's viper pair: put(h) and get() in machine code (see _queue.py).

Importing this module is a SyntaxError on a port without a native emitter;
_queue.py imports it under try and uses its python pair instead.
"""

# The state is the queue's array('i') (layout in _queue.py): header words,
# then one link per handle and the sentinel's. These closures use the slab
# pair's box (see _viper.py): a cell both share, whose value word put() reads
# to test h without a runtime call, and get() writes to return a small int
# without one. make() in _queue.py checks the layout and writes BOX; if any
# check fails, the queue gets the python pair instead.

import micropython
from micropython import const

from ._viper import MARK

# Header words (copies of _queue.py's; viper code cannot read module globals
# for free; host_tests/test_layout.py proves them equal).
_TAIL = const(0)
_COUNT = const(1)
_N = const(2)
_FLAGS = const(3)
_WAIT = const(5)
_BOX = const(4)
_OWN = const(6)
_LINKS = const(28)  # byte offset of link 0 (after seven header words)
_W64 = const(1)  # FLAGS bit: a 64-bit port
_CHK = const(2)  # FLAGS bit: a checked slab: put() reads its bitmap at OWN
_ASK = const(4)  # FLAGS bit: a checked pool: put() asks q._owned(h)


def pair(q, state_at):
    """(get, put) over the state at address state_at (an int)."""
    box = MARK  # get's result and put's argument pass through this cell

    @micropython.viper
    def get():
        p = int(state_at)
        s = ptr32(p)
        n = s[_N]
        lk = ptr32(p + _LINKS)
        h = lk[n] - 1  # the head: the sentinel's successor
        if h == n:  # the sentinel links to itself: empty
            return None
        x = lk[h]
        lk[n] = x
        lk[h] = 0  # h is no longer queued
        if x == n + 1:  # h was the last one
            s[_TAIL] = n
        s[_COUNT] = s[_COUNT] - 1
        o = s[_BOX]
        ptr32(p + (o - (((o >> 31) << 16) << 16)))[0] = (h << 1) | 1
        return box  # the small int h

    @micropython.viper
    def put(h):
        nonlocal box
        box = h  # h's object word is now at a known address
        p = int(state_at)
        s = ptr32(p)
        o = s[_BOX]
        f = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        w = f[0]
        x = s[_FLAGS]
        hi = 0
        if x & _W64:  # 64-bit port: a small int >= 2**31 has a high half
            hi = f[1]
            f[1] = 0
        f[0] = 1  # the box holds the small int 0 again
        i = w >> 1
        n = s[_N]
        lk = ptr32(p + _LINKS)
        # not a small int, out of range, or already queued (or handed to a waiter)
        if (w & 1) == 0 or hi or uint(i) >= uint(n) or lk[i]:
            return q._refuse(h)
        if x & _CHK:  # the slab's bit for i: allocated?
            o = s[_OWN]
            b = ptr8(p + (o - (((o >> 31) << 16) << 16)))
            if (b[i >> 3] >> (i & 7)) & 1 == 0:
                return q._refuse(h)
        if x & _ASK:  # noqa: SIM102 - viper: an int test, then an object test
            if not q._owned(h):
                return q._refuse(h)
        if s[_WAIT]:
            return q._handoff(h)
        lk[i] = n + 1  # h ends the queue: it links to the sentinel
        lk[s[_TAIL]] = i + 1  # the old tail (the sentinel when empty) links to h
        s[_TAIL] = i
        s[_COUNT] = s[_COUNT] + 1

    return get, put
