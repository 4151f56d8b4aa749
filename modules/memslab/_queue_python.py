"""BlockQueue's python pair: put(h) and get() in bytecode (see _queue.py).

Loaded where the viper pair cannot run: a port without a native emitter, an
owner on engine="python", or the viper pair's checks failing.
"""

from micropython import const

# Header words of the queue's state (layout in _queue.py).
_QTAIL = const(0)
_QCOUNT = const(1)
_QN = const(2)
_WAIT = const(5)


def pair(q, s, lk, checked):
    """(get, put) in bytecode, over the same state.

    A micropython.schedule callback runs between bytecodes, at jumps; it may
    put or get on this queue too. So each commit is straight-line code (no
    if/and/or/loop) that reads what it writes after the last jump. Cells plus
    arguments stay at most five, and frames small: a bigger call's frame
    comes from the heap.
    """
    n = s[_QN]

    def get():
        while True:
            if lk[n] == n + 1:  # the sentinel links to itself: empty
                return None
            h = lk[n] - 1  # the head, read again after the jump
            x = lk[h]  # its successor + 1 (the sentinel's own link if a callback emptied it)
            lk[n] = x
            ok = h != n
            lk[h] = x * (1 - ok)  # 0: h is no longer queued
            x = (x == n + 1) * (n - s[_QTAIL]) + s[_QTAIL]  # the tail: the sentinel if now empty
            s[_QTAIL] = x
            s[_QCOUNT] -= ok
            if ok:
                return h

    def put(h):
        if h.__class__ is not int or h < 0 or h >= s[_QN] or lk[h]:
            return q._refuse(h)  # not an int, out of range, or queued already
        if checked and not q._owned(h):
            return q._refuse(h)
        if s[_WAIT]:
            return q._handoff(h)
        x = s[_QTAIL]
        s[_QTAIL] = h
        h = s[_QTAIL]  # the small int, whatever int object h was
        lk[h] = s[_QN] + 1  # h ends the queue: it links to the sentinel
        lk[x] = h + 1  # the old tail (the sentinel when empty) links to h
        s[_QCOUNT] += 1

    return get, put
