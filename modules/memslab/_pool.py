"""MemPool: size classes over slabs, for messages whose size varies.

    pool = MemPool(((16, 32), (64, 16), (256, 4)))  # (block_size, num_blocks) per class
    h = pool.alloc(40)      # from the smallest class that fits and has a free block
    pool.view(h)            # memoryview of the whole block (64 bytes here)
    pool.free(h)

What Linux's kmalloc caches and lwIP's memp pools do, built from MemSlab and
keeping its promises: alloc(n)/free(h) allocate nothing (hard-IRQ safe),
a rejected call changes nothing, one contiguous buffer for everything.

A handle is a small int that says its class: class c's blocks are numbered
from first[c], the total of the blocks of the smaller classes. So 0..31 are
the 16-byte blocks above, 32..47 the 64-byte ones, 48..51 the 256-byte ones.

Where things are, each loaded only when needed (a pool's RAM is mostly
code): this file is what a working pool keeps (the class, the python pair);
_poolbuild.py builds a pool and is dropped again; _poolviper.py is the pair
in machine code (viper); _poolmore.py views, used, stats, block;
_poolasync.py waiting; _poolpicture.py dump(); _poolexplain.py the messages.
"""

import uctypes
from micropython import const

from . import _forget
from ._errors import LOCKED

# The pool's state (its layout is in _poolviper.py): an array("I") for the
# machine code, or the header alone in a list for a python pool (quicker).
# _USED and _WAIT: words of a class's slab state (_layout.py).
_T = const(6)
_TB = const(7)
_PEAK = const(8)
_PEAKB = const(9)
_USED = const(1)
_WAIT = const(5)


class MemPool:
    # Set by _poolbuild.build() (bare annotations cost nothing on the board).
    slabs: tuple
    sizes: tuple
    first: tuple
    num_blocks: int
    buffer: bytearray
    _owner: bytearray  # the bytes themselves (buffer may be a slice of them)
    _owner_at: int  # their address when built: a move is refused
    _st: list  # the pool's state (_poolviper.py): an array("I"), or a list
    # Defaults on the class, not in every pool's dict (as MemSlab does).
    engine = "viper"
    checked = False
    threadsafe = False
    _views = None  # the tuple built by views()
    _r = range(0x3FFFFFFF)  # _r[h]: the small-int object h, for any int h in range

    def __init__(self, classes, buffer=None, *, engine="auto", checked=False, threadsafe=False):
        from . import _poolbuild  # dropped again below: a pool is built once

        try:
            _poolbuild.build(self, classes, buffer, engine, checked, threadsafe)
        finally:
            _forget("_poolbuild")

    # -- the hot path: the pair set on the instance by _poolbuild (machine
    # code, or _pair() below); these two methods, shadowed by it, document it --

    def alloc(self, n):
        """A handle to a block of at least n bytes, or None when no class can serve it.

        Takes the smallest class that fits and has a free block, falling back
        to larger classes. n larger than the largest class is a ValueError.
        Heap-free: legal in a hard IRQ.
        """
        return self.alloc(n)

    def free(self, h):
        """Give block h back; a bad h raises TypeError/ValueError and changes nothing."""
        return self.free(h)

    # -- counters: plain reads, safe in a hard IRQ --

    @property
    def num_used(self):
        t = 0
        for s in self.slabs:
            t += s.num_used
        return t

    @property
    def num_free(self):
        return self.num_blocks - self.num_used

    @property
    def max_used(self):
        """The most blocks in use at once, pool-wide (blocks taken through the pool)."""
        return self._st[_PEAK]

    # -- the rest --

    def size_of(self, h):
        """The block size of h's class."""
        return self.sizes[self._class_of(h, "size_of")]

    def view(self, h):
        """A memoryview of the whole block (size_of(h) bytes). Allocates."""
        c = self._class_of(h, "view")
        try:
            return self.slabs[c].view(self._r[h] - self.first[c])
        except ValueError:  # checked mode: a free block, said in the class's numbers
            return self._refuse(h, "view", c)

    def addressof(self, h):
        """The address of block h's first byte (for DMA and uctypes.struct)."""
        c = self._class_of(h, "addressof")
        return self.slabs[c].addressof(self._r[h] - self.first[c])

    def views(self):
        """One memoryview per block, indexed by handle, built on the first call.

        Build it before enabling interrupts; then `pool.views()[h]` is a plain
        tuple lookup that an interrupt handler may use."""
        return self._views or self._more().views(self)

    def used(self):
        """The handles of the allocated blocks, ascending (a leak report). Allocates."""
        return self._more().used(self)

    def reset_max(self):
        """Set max_used (the pool's and every class's) to what is in use now."""
        self._more().reset_max(self)

    def stats(self):
        """Totals in blocks and bytes (peaks pool-wide), each class's stats() under "classes"."""
        return self._more().stats(self)

    def block(self, n):
        """`with pool.block(n) as h:` a block of at least n bytes, freed when the
        with-block exits. SlabEmptyError, a MemoryError, when none is free."""
        return self._more().Block(self, n)

    def alloc_async(self, n, timeout_ms=None):
        """Awaitable: a handle to a block of at least n bytes, waiting while none is free.

        Waits for a block of the smallest class that fits (first come, first
        served among that class's waiters); None on timeout. n and timeout_ms
        are checked at the call, as MemSlab.alloc_async does.
        """
        self._check_not_moved()
        from . import _poolasync

        return _poolasync.alloc_async(self, n, timeout_ms, False)

    def block_async(self, n, timeout_ms=None):
        """`async with pool.block_async(n, timeout_ms) as h:` waits like
        alloc_async, frees h on exit; asyncio.TimeoutError when the time passes."""
        self._check_not_moved()
        from . import _poolasync

        return _poolasync.alloc_async(self, n, timeout_ms, True)

    def dump(self, limit=48):
        """Every class's picture, in pool handles. Allocates: not for IRQs."""
        self._check_not_moved()
        from . import _poolpicture

        return _poolpicture.dump(self, limit)

    def __repr__(self):
        from . import _poolmore

        return _poolmore.describe(self)

    # -- checks and errors (the words are in _poolexplain.py) --

    def _more(self):
        """_poolmore.py, after checking that the buffer has not moved."""
        self._check_not_moved()
        from . import _poolmore

        return _poolmore

    def _check_not_moved(self):
        """RuntimeError if the pool's buffer was resized and its bytes moved.

        The hot path cannot afford to look; every other method does (the
        classes' slabs look at the pool's bytes too, not their slices)."""
        if uctypes.addressof(self._owner) != self._owner_at:
            from . import _poolexplain

            raise RuntimeError(_poolexplain.moved())

    def _class_of(self, h, verb):
        """The class of handle h; TypeError/ValueError (nothing changed) if h is none."""
        if h.__class__ is not int or h < 0 or h >= self.num_blocks:
            return self._refuse(h, verb)
        self._check_not_moved()
        c = len(self.first) - 1
        while h < self.first[c]:
            c -= 1
        return c

    def _refuse(self, x, verb, c=-1):
        """Raise why verb refused x: TypeError (not an int), ValueError (a handle
        or a size out of range; c >= 0: block x of class c is not allocated).

        In a hard IRQ the heap is locked: no import, no message. Then it
        raises a prebuilt error of the same type (_errors.LOCKED)."""
        exc = TypeError if x.__class__ is not int else ValueError
        try:
            self._check_not_moved()
            from . import _poolexplain

            msg = _poolexplain.why(self, x, verb, c)
        except MemoryError:
            raise LOCKED[exc]
        raise exc(msg)


def _pair(pool):
    """The python pair (alloc, free): closures over the classes' own pairs, as
    a slab's are over its state; also the machine code's slow paths.

    Two limits keep a call off the heap: closed-over names plus arguments at
    most five (closure_call), and a frame of at most 11 words (locals, cells,
    stack). So the values the closures need sit in one tuple, `k`.
    """
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
        pool._st,  # 6 the pool's state: counts and peaks
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
            _note(k)
        else:
            h = k[6]
            h[_T] -= 1
            h[_TB] -= k[8][c]

    return alloc, free


def _freed(free, h):
    """free(h), a class's free; False if the slab refused h as not allocated.

    A function of its own because its frame must stay small: a call's frame of
    more than 11 words (a try counts three) comes from the heap, every call.
    """
    try:
        free(h)
    except ValueError:
        return False
    return True


def _peaks(st):
    if st[_T] > st[_PEAK]:
        st[_PEAK] = st[_T]
    if st[_TB] > st[_PEAKB]:
        st[_PEAKB] = st[_TB]


def _note(k):
    """Set the pool's counts to what its classes hold now."""
    u = b = c = 0
    while c <= k[1]:
        x = k[7][c][_USED]
        u += x
        b += x * k[8][c]
        c += 1
    k[6][_T] = u
    k[6][_TB] = b
