"""BlockQueue's viper pair: put(h) and get() in machine code (see _queue.py).

Importing this module is a SyntaxError on a port without a native emitter;
_queue.py imports it under try and uses its python pair instead.
"""

# The state is the queue's array('i') (layout in _queue.py): header words,
# then one link per handle and the sentinel's. These closures use the slab
# pair's box (see _viper.py): a cell both share, whose value word put() reads
# to test h without a runtime call, and get() writes to return a small int
# without one. make() below checks them and writes BOX; if any
# check fails, the queue gets the python pair instead.

import micropython
import uctypes
from micropython import const

from . import _viper
from ._viper import MARK

RECOMPILED = None  # why pair() was compiled again at run time (_queue._recompiled)

# Header words (copies of _queue.py's; viper code cannot read module globals
# for free; host_tests/test_layout.py proves them equal).
_QTAIL = const(0)
_QCOUNT = const(1)
_QN = const(2)
_QFLAGS = const(3)
_WAIT = const(5)
_QBOX = const(4)
_QOWN = const(6)
_QHEADER = const(7)  # header words before link 0
_QLINKS = const(28)  # byte offset of link 0
_W64 = const(1)  # FLAGS bit: a 64-bit port
_CHK = const(2)  # FLAGS bit: a checked slab: put() reads its bitmap at OWN
_ASK = const(4)  # FLAGS bit: a checked pool: put() asks q._owned(h)
_BITS = const(48)  # byte offset of a checked slab's bitmap in its state (_layout.BITS)


def pair(q, state_at):
    """(get, put) over the state at address state_at (an int)."""
    box = MARK  # get's result and put's argument pass through this cell

    @micropython.viper
    def get():
        p = int(state_at)
        s = ptr32(p)
        n = s[_QN]
        lk = ptr32(p + _QLINKS)
        h = lk[n] - 1  # the head: the sentinel's successor
        if h == n:  # the sentinel links to itself: empty
            return None
        x = lk[h]
        lk[n] = x
        lk[h] = 0  # h is no longer queued
        if x == n + 1:  # h was the last one
            s[_QTAIL] = n
        s[_QCOUNT] = s[_QCOUNT] - 1
        o = s[_QBOX]
        ptr32(p + (o - (((o >> 31) << 16) << 16)))[0] = (h << 1) | 1
        return box  # the small int h

    @micropython.viper
    def put(h):
        nonlocal box
        box = h  # h's object word is now at a known address
        p = int(state_at)
        s = ptr32(p)
        o = s[_QBOX]
        f = ptr32(p + (o - (((o >> 31) << 16) << 16)))
        w = f[0]
        x = s[_QFLAGS]
        hi = 0
        if x & _W64:  # 64-bit port: a small int >= 2**31 has a high half
            hi = f[1]
            f[1] = 0
        f[0] = 1  # the box holds the small int 0 again
        i = w >> 1
        n = s[_QN]
        lk = ptr32(p + _QLINKS)
        # not a small int, out of range, or already queued (or handed to a waiter)
        if (w & 1) == 0 or hi or uint(i) >= uint(n) or lk[i]:
            return q._refuse(h)
        if x & _CHK:  # the slab's bit for i: allocated?
            o = s[_QOWN]
            b = ptr8(p + (o - (((o >> 31) << 16) << 16)))
            if (b[i >> 3] >> (i & 7)) & 1 == 0:
                return q._refuse(h)
        if x & _ASK:  # noqa: SIM102 - viper: an int test, then an object test
            if not q._owned(h):
                return q._refuse(h)
        if s[_WAIT]:
            return q._handoff(h)
        lk[i] = n + 1  # h ends the queue: it links to the sentinel
        lk[s[_QTAIL]] = i + 1  # the old tail (the sentinel when empty) links to h
        s[_QTAIL] = i
        s[_QCOUNT] = s[_QCOUNT] + 1

    return get, put


def make(q, s, checked, owner):
    """(get, put) for queue q over its state s, or None where they cannot run.

    Checks the object model and the closures' box (see _viper.py), writes
    BOX, OWN and FLAGS, and runs the pair once on the empty queue (a wrong
    constant in frozen code shows here). owner: the checked slab whose bitmap
    put() reads, or None (a pool: put() asks q._owned(h)).
    """
    if not _viper.FAST:  # False: tests drive the python pair on viper slabs
        return None
    get, put = pair(q, uctypes.addressof(s))
    w = _viper.word_size()
    box = _viper.find_box(get, put, w) if w else None
    if box is None:
        return None
    a = uctypes.addressof(s)
    own = uctypes.addressof(owner._st) + _BITS - a if checked and owner is not None else 0
    for i, e in ((_QBOX, box - a), (_QOWN, own)):
        if w == 8 and not -(1 << 31) <= e < 1 << 31:
            return None
        s[i] = ((e + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)  # as a signed word, mod 2**32
    s[_QFLAGS] = _W64 if w == 8 else 0
    try:  # the machine code, once (a wrong constant in frozen code shows here)
        ok = get() is None
        put(0)
        ok = ok and s[_QCOUNT] == 1 and get() == 0 and get() is None
    except Exception:  # noqa: BLE001
        ok = False
    for call in (lambda: get(0), lambda: put()):  # pyright: ignore[reportCallIssue]
        try:  # the argument count is checked (misplaced frozen code let get(0) through)
            call()
            ok = False
        except TypeError:
            pass
    if checked:
        s[_QFLAGS] |= _CHK if owner is not None else _ASK
    if ok and s[_QCOUNT] == 0 and s[_QTAIL] == s[_QN] and s[_QHEADER] == 0:
        return get, put
    return None
