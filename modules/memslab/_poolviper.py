"""memslab's MemPool pair in machine code: pool.alloc(n) and pool.free(h) on viper.

Loaded by the first pool on the viper engine. _poolbuild.py fills the state,
checks the pair and tries it; where anything fails, the pool gets the python
pair (_poolpython.py).
"""

# What a slab's viper pair does (_viper.py, whose comment explains the box
# trick), for every class at once: alloc(n) checks n, walks the class
# records to the smallest class that fits and has a free block and pops it
# there; free(h) checks h, finds h's class and pushes the block there. Both
# work on the classes' own slab states (_layout.py), so each class's slab
# and the pool always agree, and on checked slabs they check what a checked
# slab's pair checks. Anything unusual goes to Python (MemPool._alloc_slow /
# _free_slow): a bad argument, a long int, an unsound block (the class's own
# alloc() then raises why), a block already free, waiters on the class (the
# class's free() hands the block over).
#
# The pool's state is an array("I") of 32-bit words (_poolbuild.py fills it;
# _pool.py and _poolmore.py keep const copies of the indices they use).
# Addresses are kept as their low 32 bits: on a 32-bit board that is the
# address; on a 64-bit port the pair adds the high half of the state's own
# address, and _poolbuild checks that every address shares it (true inside
# one GC heap). One add per address, where a slab's pair sign-extends an offset.
#     0 TOP    the largest block size       6 T      blocks in use, as the pair counts
#     1 NH     number of handles            7 TB     bytes in use, as the pair counts
#     2 END    REC + classes * RW           8 PEAK   most blocks in use at once
#     3 LAST   END - RW (the last record)   9 PEAKB  most bytes in use at once
#     4 CELL   the box's value word         10 W64   1 on a 64-bit port
#     5 HI     the addresses' high half     11       (spare)
#              (64-bit ports; 0 on a board)
#     from word 12 (REC), per class, smallest first, RW = 4 words:
#         SIZE   block size               ST      its slab state
#         FIRST  its first handle         BLOCKS  its blocks
# T and TB are the pool-wide counts the peaks come from (MemPool.max_used,
# stats()["max_allocated_bytes"]): each pair, this one, its slow paths and
# the python one (_poolpython.py), adds what it takes and subtracts what it
# gives back; where a class may hand a block to a waiter, or takes one for a
# waiting task, Python sets them to the sum of the classes' num_used
# (_pool._note).
#
# Interrupts: as for a slab's pair. Machine code is never cut into by a
# micropython.schedule callback; a hard IRQ that uses the same pool needs
# threadsafe=True, which runs the pair (and each class) inside one guard.

import micropython
from micropython import const

from ._viper import MARK

RECOMPILED = None  # why pair() was compiled again at run time (_poolbuild._recompiled)

_TOP = const(0)
_NH = const(1)
_END = const(2)
_LAST = const(3)
_CELL = const(4)
_HI = const(5)
_T = const(6)
_TB = const(7)
_PEAK = const(8)
_PEAKB = const(9)
_W64 = const(10)
_REC = const(12)
_RW = const(4)
_SIZE = const(0)  # word offsets inside a class record
_FIRST = const(1)
_ST = const(2)
_BLOCKS = const(3)
# a class's slab state (_layout.py)
_HEAD = const(0)
_USED = const(1)
_MAX = const(2)
_N = const(3)
_WPB = const(4)
_WAIT = const(5)


def pair(pool, state_at):
    """The pair over the pool state at address state_at; _poolbuild checks it."""
    box = MARK  # alloc's and free's argument and alloc's result pass through this cell

    def half(at):
        @micropython.viper
        def op(x):
            nonlocal box
            box = x  # x's object word is now in the box
            p = int(at)
            s = ptr32(p - (p & 1))
            q = (s[_HI] << 16) << 16
            f = ptr32(q + s[_CELL])
            w = f[0]
            hi = 0
            if s[_W64]:  # a small int >= 2**31 has a high half
                hi = f[1]
                f[1] = 0
            f[0] = 1  # the box holds the small int 0 again
            v = w >> 1  # x's value, if x is a small int
            if p & 1:  # free(x)
                if (w & 1) == 0 or hi or uint(v) >= uint(s[_NH]):
                    return pool._free_slow(x)  # not a small int, or out of range
                r = s[_LAST]
                while v < s[r + _FIRST]:  # x's class: the last whose first handle is <= x
                    r -= _RW
                v -= s[r + _FIRST]  # the index in that class
                t = ptr32(q + s[r + _ST])
                h = t[_HEAD]
                if v == h or t[_USED] == 0 or t[_WAIT]:  # already free, or waiters
                    return pool._free_slow(x)
                ptr32(q + s[r + _BLOCKS])[v * t[_WPB]] = h  # push v
                t[_HEAD] = v
                t[_USED] = t[_USED] - 1
                s[_T] = s[_T] - 1
                s[_TB] = s[_TB] - s[r + _SIZE]
                return None
            if (w & 1) == 0 or hi or uint(v) > uint(s[_TOP]):
                return pool._alloc_slow(x)  # not a small int, or out of range: say why
            r = _REC
            while s[r + _SIZE] < v:  # the smallest class that fits (TOP fits: this stops)
                r += _RW
            e = s[_END]
            while r < e:  # ... or the next larger one with a free block
                t = ptr32(q + s[r + _ST])
                h = t[_HEAD]
                m = t[_N]
                if h != m:
                    break
                r += _RW
            if r == e:
                return None
            v = ptr32(q + s[r + _BLOCKS])[h * t[_WPB]]  # h's link
            if uint(v) > uint(m) or v == h:  # not a block index or the end, or a self-link
                return pool._alloc_slow(x)  # the class's own alloc() raises why
            u = t[_USED] + 1
            if u >= m and (u > m or v != m):  # the last block must end the list
                return pool._alloc_slow(x)
            t[_HEAD] = v  # take h
            t[_USED] = u
            if u > t[_MAX]:
                t[_MAX] = u
            u = s[_T] + 1  # the pool-wide counts and peaks
            s[_T] = u
            if u > s[_PEAK]:
                s[_PEAK] = u
            u = s[_TB] + s[r + _SIZE]
            s[_TB] = u
            if u > s[_PEAKB]:
                s[_PEAKB] = u
            f[0] = ((s[r + _FIRST] + h) << 1) | 1
            return box  # the small int: the pool handle

        return op

    return half(state_at), half(state_at + 1)
