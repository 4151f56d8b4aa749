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
code): this file is what every working pool keeps (the class, the counters,
size_of, view and addressof, the machine code's slow paths); _poolbuild.py
builds a pool and is dropped again; _poolviper.py is the pair in machine
code (viper), _poolpython.py the pair in bytecode (engine="python",
checked=True, or where the machine code's checks fail); _poolmore.py every
other method (views, used, stats, block, alloc_async, dump, ...), attached
to the class on the first use of any; _poolasync.py waiting;
_poolpicture.py dump(); _poolexplain.py the messages.
"""

import sys
import uctypes
from micropython import const

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
        finally:  # its code leaves the heap: from sys.modules and from the package
            # (_buffer, the check every class's slab makes, stays: loading it
            # anew for every pool cut a 64K heap into pieces too small for the
            # next build, in tests that build pools after refused calls.)
            pkg = sys.modules[__name__[: __name__.rindex(".")]]
            sys.modules.pop(pkg.__name__ + "._poolbuild", None)
            if "_poolbuild" in dir(pkg):
                del pkg._poolbuild  # pyright: ignore[reportAttributeAccessIssue]

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

    def __repr__(self):  # special methods are looked up on the class only
        return self._repr()

    def __getattr__(self, name):
        # Called when normal lookup fails: the first use of any other method
        # (views, used, stats, block, alloc_async, dump, ...) loads
        # _poolmore.py, which attaches them all to this class, as MemSlab's
        # _methods.py does. Loading allocates: not in a hard IRQ (README:
        # "call views() before enabling interrupts").
        from . import _poolmore

        return _poolmore.attr(self, name)

    # -- checks and errors (the words are in _poolexplain.py) --

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
        try:
            self._check_not_moved()
        except MemoryError:  # heap locked, RAM at or above 2**30 (RV32): an address
            pass  # is a big int there; unchecked then, as the hot path is
        c = len(self.first) - 1
        while h < self.first[c]:
            c -= 1
        return c

    # -- the machine code's slow paths (_poolviper.py calls them for anything
    # unusual): they raise why, or do what the python pair does, more slowly --

    def _alloc_slow(self, n):
        if n.__class__ is not int or n < 0 or n > self.sizes[-1]:
            return self._refuse(n, "alloc")
        c = 0
        while self.sizes[c] < n:
            c += 1
        while c < len(self.slabs):
            h = self.slabs[c].alloc()  # a class with an unsound block raises why
            if h is not None:
                st = self._st
                st[_T] += 1
                st[_TB] += self.sizes[c]
                _peaks(st)
                return self.first[c] + h
            c += 1
        return None

    def _free_slow(self, h=...):
        c = self._class_of(h, "free")
        s = self.slabs[c]
        w = s._sw[_WAIT]
        if not _freed(s.free, self._r[h] - self.first[c]):
            self._refuse(h, "free", c)
        if w:  # s may have handed the block to a waiter (still in use): count anew
            _note(self)
        else:
            self._st[_T] -= 1
            self._st[_TB] -= s.block_size

    def _refuse(self, x, verb, c=-1):
        """Raise why verb refused x: TypeError (not an int), ValueError (a handle
        or a size out of range; c >= 0: block x of class c is not allocated).

        In a hard IRQ the heap is locked: no import, no message. A built-in
        exception needs no heap there (MicroPython falls back to a static
        one), so it raises the same type, with a message that says why not more."""
        exc = TypeError if x.__class__ is not int else ValueError
        try:
            self._check_not_moved()
            from . import _poolexplain

            msg = _poolexplain.why(self, x, verb, c)
        except MemoryError:
            msg = "memslab: bad handle or size (heap locked)"
        raise exc(msg)


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


def _note(pool):
    """Set the pool's counts to what its classes hold now (a class may have
    handed a block to a waiter, or taken one for a waiting task)."""
    u = b = c = 0
    while c < len(pool.slabs):
        x = pool.slabs[c]._sw[_USED]
        u += x
        b += x * pool.sizes[c]
        c += 1
    pool._st[_T] = u
    pool._st[_TB] = b
