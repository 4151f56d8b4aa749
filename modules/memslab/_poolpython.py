"""MemPool's python pair: alloc(n)/free(h) as bytecode closures over the
classes' own pairs, as a slab's python pair is over its state.

Loaded by a pool that does not get the machine code (_poolviper.py):
engine="python", checked=True (the classes' checked viper pairs do the
checks), or a port where the machine code's build-time checks fail.

Two limits keep a call off the heap: closed-over names plus arguments at
most five (closure_call), and a frame of at most 11 words (locals, cells,
stack). So the values the closures need sit in one tuple, `k`.
"""

from micropython import const

from ._pool import _freed, _note, _peaks

_T = const(6)  # the pool's state words (_poolviper.py)
_TB = const(7)
_PEAK = const(8)
_PEAKB = const(9)
_WAIT = const(5)  # a class's slab state (_layout.py)


def pair(pool):
    """The pool's (alloc, free) in bytecode; pool._st is its counts (a list)."""
    a = []
    f = []
    w = []
    for s in pool.slabs:  # (a loop: a generator expression would be a function more)
        a.append(s.alloc)
        f.append(s.free)
        w.append(s._sw)
    sizes = pool.sizes + (1 << 30,)  # a sentinel: the fitting loop stops by itself
    k = (
        pool.sizes[-1],  # 0 the largest n
        len(a) - 1,  # 1 the last class
        tuple(a),  # 2 each class's alloc
        pool.first,  # 3
        tuple(f),  # 4 each class's free
        pool.num_blocks,  # 5
        pool._st,  # 6 the pool's counts and peaks
        tuple(w),  # 7 each class's state words
        pool.sizes,  # 8
        pool._r,  # 9: r[h] is the small int h, also for a long-int handle
    )

    def alloc(n):
        if n.__class__ is not int or n < 0 or n > k[0]:
            return pool._refuse(n, "alloc")
        c = 0
        while sizes[c] < n:  # the smallest class that fits
            c += 1
        while True:  # ... or the next larger one with a free block
            h = k[2][c]()
            if h is not None:
                n = k[6]  # count it, pool-wide
                n[_T] += 1
                n[_TB] += sizes[c]
                if n[_T] > n[_PEAK] or n[_TB] > n[_PEAKB]:
                    _peaks(n)
                return k[3][c] + h
            if c == k[1]:
                return None
            c += 1

    def free(h=...):  # h=...: free() with no handle gets a message of ours
        if h.__class__ is not int or h < 0 or h >= k[5]:
            return pool._refuse(h, "free")
        c = k[1]
        while h < k[3][c]:  # h's class: the last whose first handle is <= h
            c -= 1
        h = k[9][h] - k[3][c]  # the index in class c's slab (a small int)
        w = k[7][c][_WAIT]
        if not _freed(k[4][c], h):
            pool._refuse(k[3][c] + h, "free", c)
        if w:  # the class may have handed h to a waiter (still in use): count anew
            _note(pool)
        else:
            h = k[6]
            h[_T] -= 1
            h[_TB] -= k[8][c]

    return alloc, free
