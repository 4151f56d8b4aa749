"""memslab: Zephyr-style memory slabs for MicroPython.

A slab is `num_blocks` blocks of `block_size` bytes carved out of one buffer.
`alloc()` hands out a block index, `free(h)` takes it back; both are O(1),
never allocate heap memory and so may run in a hard interrupt handler.
The free list lives inside the free blocks: the first 32-bit word of a free
block holds the index of the next free block, `num_blocks` marks the end.

    from memslab import MemSlab
    slab = MemSlab(64, 8)
    h = slab.alloc()        # 0..7, or None when every block is in use
    slab.view(h)[0] = 42    # a memoryview of the block's 64 bytes
    slab.free(h)
"""

import uctypes

from . import _python

# Why the viper engine is not used (None while it is usable). A viper decorator
# is a SyntaxError on a port without a native emitter; a .mpy built for another
# CPU is a ValueError('incompatible .mpy arch'); frozen code that computes a
# wrong constant is caught by _selfcheck on the first viper slab.
VIPER_ERROR = None
try:
    from . import _viper
except Exception as e:  # noqa: BLE001 - any failure here means: use the Python engine
    _viper = None
    VIPER_ERROR = "import memslab._viper failed: %s: %s" % (type(e).__name__, e)
    if "arch" in str(e):
        VIPER_ERROR += " (this .mpy was built for another CPU: install the build for your board)"
_viper_checked = False  # _selfcheck has run on the viper engine (once, on the first viper slab)

__version__ = "0.1.0"

# Word indices of the slab state, the same in _python.py and _viper.py.
_HEAD = 0
_USED = 1
_MAX = 2
_N = 3
_WPB = 4
_WAIT = 5
_STATE_BYTES = 32  # eight 32-bit words; checked mode appends one bit per block

# The longest alloc_async() wait: ticks_diff() is exact only within half the
# ticks_ms period (2**30 ms), so a longer deadline would look already past.
_MAX_TIMEOUT_MS = (1 << 29) - 1
_M32 = 0xFFFFFFFF


class SlabCorruptedError(RuntimeError):
    """The free list or a free block was overwritten; alloc() refuses to use it."""


class MemSlab:
    """Fixed-size blocks from one static buffer with O(1), heap-free alloc/free.

    MemSlab(block_size, num_blocks, buffer=None, *, engine="auto",
            checked=False, threadsafe=False)

    alloc() -> int or None   take a block (LIFO reuse); None when none is free
    free(h)                  give block h back; a bad h raises and changes nothing
    view(h) -> memoryview    the block's bytes (allocates: not for hard IRQs)
    views() -> tuple         one memoryview per block, built once (IRQ-safe to index)
    await alloc_async(timeout_ms=None) -> int or None   wait for a block

    alloc and free are set per instance in __init__ (closures over the state)
    because a closure call is the cheapest call MicroPython makes.
    """

    def __init__(
        self,
        block_size,
        num_blocks,
        buffer=None,
        *,
        engine="auto",
        checked=False,
        threadsafe=False,
    ):
        _check_int("block_size", block_size)
        _check_int("num_blocks", num_blocks)
        if block_size < 4 or block_size % 4:
            raise ValueError(
                "block_size must be a multiple of 4 and at least 4, got %d; try %d"
                % (block_size, max(4, (block_size + 3) & ~3))
            )
        if num_blocks < 1:
            raise ValueError("num_blocks must be at least 1, got %d" % num_blocks)
        if num_blocks >= 1 << 30:
            raise ValueError("num_blocks must be below 2**30 (block indices stay small ints)")
        size = block_size * num_blocks
        if size >= 1 << 31:  # bytearray() would raise OverflowError on a 32-bit board
            raise MemoryError(
                "MemSlab(%d, %d) needs %d bytes; one slab holds less than 2**31 bytes "
                "(and a board's heap far less): use fewer or smaller blocks"
                % (block_size, num_blocks, size)
            )
        engine_mod = _pick_engine(engine)
        if buffer is None:
            buffer = bytearray(size)  # MemoryError here, never later in alloc()
            self._owner = buffer
        else:
            self._owner = buffer
            buffer = _check_buffer(buffer, size, block_size, num_blocks)
        st = bytearray(_STATE_BYTES + ((num_blocks + 7) >> 3 if checked else 0))
        sw = _python.words(st, 8)
        sw[_N] = num_blocks
        sw[_WPB] = block_size >> 2
        engine_mod.build(st, buffer, checked)

        self.block_size = block_size
        self.num_blocks = num_blocks
        self.buffer = buffer
        self.engine = "viper" if engine_mod is _viper else "python"
        self.checked = bool(checked)
        self.threadsafe = bool(threadsafe)
        self._buf = buffer
        self._st = st
        self._sw = sw
        self._views = None
        self._waiters = None
        self._r = range(num_blocks)  # r[h] is the small int h, for any int h in range
        self._owner_at = uctypes.addressof(self._owner)  # see _check_not_moved
        alloc, free = engine_mod.make(self, st, self._r, checked)
        self._free_raw = free  # without the threadsafe guard: for slow paths inside it
        if threadsafe:
            alloc, free = _guarded(alloc, free)
        self.alloc = alloc
        self.free = free

    # Counters: plain reads of the state words, safe in a hard IRQ.
    @property
    def num_used(self):
        return self._sw[_USED]

    @property
    def num_free(self):
        return self.num_blocks - self._sw[_USED]

    @property
    def max_used(self):
        return self._sw[_MAX]

    def reset_max(self):
        """Set max_used to the current num_used (Zephyr's reset_max)."""
        self._sw[_MAX] = self._sw[_USED]

    def view(self, h):
        """A memoryview of block h's block_size bytes. Allocates: not in a hard IRQ."""
        self._check_not_moved()
        self._check_handle(h, "view")
        if self.checked and not self._is_used(h):
            raise ValueError("view(%d): block %d is free; alloc() it first" % (h, h))
        o = h * self.block_size
        return memoryview(self.buffer)[o : o + self.block_size]

    def views(self):
        """One memoryview per block, built on the first call and cached.

        Build it before enabling interrupts; then `slab.views()[h]` is a plain
        tuple lookup that an interrupt handler may use. Costs one memoryview
        object per block, so it is opt-in.
        """
        if self._views is None:
            self._check_not_moved()
            # Built in a helper: a generator expression here would close over
            # locals, making this method allocate cells on every call.
            self._views = _block_views(self.buffer, self.block_size, self.num_blocks)
        return self._views

    def alloc_async(self, timeout_ms=None):
        """Awaitable: a block index, waiting while the slab is empty.

        Returns None if timeout_ms (None = wait forever) passes first. Waiters
        are served first come, first served; free() hands them the block.
        """
        if timeout_ms is not None and timeout_ms.__class__ is not int:
            raise TypeError(
                "alloc_async(timeout_ms): timeout_ms is an int number of milliseconds "
                "or None (wait forever), got %s" % type(timeout_ms).__name__
            )
        if timeout_ms is not None and timeout_ms > _MAX_TIMEOUT_MS:
            raise ValueError(
                "alloc_async(timeout_ms=%d): at most %d ms (6.2 days, the ticks_ms range); "
                "pass None to wait forever" % (timeout_ms, _MAX_TIMEOUT_MS)
            )
        self._check_not_moved()
        from . import _async  # asyncio is loaded only by code that waits

        return _async.alloc(self, timeout_ms)

    def dump(self, limit=48):
        """A picture of the slab: each block used or free and the free-list chain.

        Shows the first `limit` blocks and links (a 65,536-block picture helps
        nobody and would not fit a board's heap). Allocates: not for IRQs.
        """
        self._check_not_moved()
        from . import _picture  # loaded only when drawn

        return _picture.draw(self, limit)

    def __repr__(self):
        return "<MemSlab %dx%d used=%d/%d engine=%s>" % (
            self.num_blocks,
            self.block_size,
            self.num_used,
            self.num_blocks,
            self.engine,
        )

    # -- slow paths, called by the engines: they raise or hand a block on --
    # In a hard IRQ the heap is locked and no message can be formatted; each
    # then raises a prebuilt exception of the same type (see _LOCKED).

    def _reject(self, h):
        """free(h) was refused by the engine: raise the error that says why.

        One exception: an int of the right value that is not the small-int
        object itself (a long int from array('q'), 2**40 // 2**38) is freed
        as its small int; the engines' identity test sends it here.
        """
        if h.__class__ is int and 0 <= h < self.num_blocks and h is not self._r[h]:
            return self._free_raw(self._r[h])  # the guard, if any, is already held
        exc = _handle_error_type(h, self.num_blocks) or ValueError  # in range: already free
        try:
            self._check_not_moved()
            msg = self._handle_message(h, "free")
        except MemoryError:
            raise _LOCKED[exc]
        raise exc(msg)

    def _corrupt(self, h, nxt=None):
        """alloc() found free block h unsound: raise SlabCorruptedError.

        The engines pass only h: the link word is read here, as 4 bytes, so a
        link >= 2**30 is never boxed into a big int in the hot path (that would
        be a MemoryError in a hard IRQ on a 32-bit board, not this error).
        """
        try:
            self._check_not_moved()
            msg = self._corrupt_message(h)
        except MemoryError:
            raise _LOCKED[SlabCorruptedError]
        raise SlabCorruptedError(msg)

    def _corrupt_message(self, h):
        n = self.num_blocks
        nxt = self._link(h)
        if self._sw[_USED] >= n:
            return (
                "the free list goes on at block %d although all %d blocks are allocated: "
                "a block was freed twice, or written after it was freed" % (h, n)
            )
        if nxt == h:
            what = "itself"
        elif nxt < n:
            what = "%d, an allocated block" % nxt
        else:
            what = "0x%08X, not a block index" % nxt
        return "free block %d links to %s; something wrote into block %d after it was freed" % (
            h,
            what,
            h,
        )

    def _poisoned(self, h, offset):
        try:
            self._check_not_moved()
            msg = "block %d was written after it was freed (byte %d lost the 0x3A poison)"
            msg = msg % (h, offset)
        except MemoryError:
            raise _LOCKED[SlabCorruptedError]
        raise SlabCorruptedError(msg)

    def _handoff(self, h):
        # free(h) with waiters: h goes to the oldest alloc_async() waiter, not
        # to the free list (num_used unchanged). Allocation-free: IRQ-safe.
        self._waiters.give(h)

    # -- helpers --

    def _check_not_moved(self):
        """Raise if the caller resized the slab's buffer after building the slab.

        A bytearray that grows may move its bytes; alloc()/free() would then
        write into memory the heap has given to something else (a crash).
        The hot path cannot afford to look; the slow paths and every other
        method do. (A memoryview's own pointer never moves, so a resized
        bytearray behind a memoryview cannot be seen.)
        """
        if uctypes.addressof(self._owner) != self._owner_at:
            raise RuntimeError(
                "the slab's buffer was resized after MemSlab() was built, and its bytes "
                "moved: the slab is unusable. Never resize a slab's buffer; build a new MemSlab"
            )

    def _check_handle(self, h, verb):
        exc = _handle_error_type(h, self.num_blocks)
        if exc is not None:
            raise exc(self._handle_message(h, verb))

    def _handle_message(self, h, verb):
        if h.__class__ is not int:
            hint = " (alloc() returns None when the slab is empty)" if h is None else ""
            return "%s() takes a block index (int) from alloc(), got %s%s" % (
                verb,
                type(h).__name__,
                hint,
            )
        if not 0 <= h < self.num_blocks:
            return "%s(%d): no such block; this slab has blocks 0..%d" % (
                verb,
                h,
                self.num_blocks - 1,
            )
        if self.checked:
            return "%s(%d): block %d is not allocated (already freed, or never from alloc())" % (
                verb,
                h,
                h,
            )
        return "%s(%d): block %d is already free (double free)" % (verb, h, h)

    def _is_used(self, h):
        return (self._st[_STATE_BYTES + (h >> 3)] >> (h & 7)) & 1

    def _link(self, i):
        """The link word of block i, unsigned (meaningful only while block i is free)."""
        o = i * self.block_size
        return int.from_bytes(bytes(self.buffer[o : o + 4]), "little")

    def _walk(self, walked, limit):
        from . import _picture

        return _picture.walk(self, walked, limit)


# Raised instead when the heap is locked (hard IRQ): same type, no formatting.
_LOCKED = {
    TypeError: TypeError("memslab: block index is not an int (no details: heap locked)"),
    ValueError: ValueError("memslab: bad or already free block (no details: heap locked)"),
    SlabCorruptedError: SlabCorruptedError("memslab: free list corrupted (heap locked)"),
}


def _handle_error_type(h, n):
    """TypeError, ValueError or None (valid range) for a block index h."""
    if h.__class__ is not int:
        return TypeError
    if not 0 <= h < n:
        return ValueError
    return None


def _check_int(name, value):
    if value.__class__ is not int:
        raise TypeError("%s must be an int, got %s" % (name, type(value).__name__))


def _block_views(buf, block_size, num_blocks):
    mv = memoryview(buf)
    return tuple(mv[i * block_size : (i + 1) * block_size] for i in range(num_blocks))


def _pick_engine(engine):
    if engine not in ("auto", "viper", "python"):
        raise ValueError("engine must be 'auto', 'viper' or 'python', got %r" % (engine,))
    if engine != "python" and _viper_usable() is None:
        return _viper
    if engine == "viper":
        raise ValueError(
            "engine='viper' is not available: %s; use 'auto' or 'python'" % VIPER_ERROR
        )
    return _python


def _viper_usable():
    """None when the viper engine may be used, else why not (also in VIPER_ERROR)."""
    global VIPER_ERROR, _viper_checked
    if _viper is not None and not _viper_checked:
        _viper_checked = True
        VIPER_ERROR = _selfcheck("viper")
    return VIPER_ERROR


def _selfcheck(engine, poison=0x3A3A3A3A):
    """Run the engine's real code on a scratch slab; None if right, else what was wrong.

    Guards against machine code that computes its constants wrong: MicroPython's
    freezer can place frozen ARMv6-M viper code at 2 mod 4 while its 32-bit
    constants are read as if at 0 mod 4 (seen on RP2040 in 1.28/1.29-preview:
    the poison became 0x3A3AE001 and the argument-count check let alloc(1)
    through). `poison` is what a free block must hold; tests pass a wrong one.
    """
    try:
        s = MemSlab(8, 2, engine=engine, checked=True)  # _viper_checked is set: no recursion
        w = _python.words(s.buffer, 4)
        if w[0] != 1 or w[2] != 2 or w[1] != poison or w[3] != poison:
            got = "%08X %08X %08X %08X" % (w[0] & _M32, w[1] & _M32, w[2] & _M32, w[3] & _M32)
            return "%s engine built the words %s, not 00000001 %08X 00000002 %08X" % (
                engine,
                got,
                poison,
                poison,
            )
        for name, call in (("alloc(1)", lambda: s.alloc(1)), ("free(0, 2)", lambda: s.free(0, 2))):
            try:
                call()
            except TypeError:
                continue
            return "%s engine accepted %s (its argument check is broken)" % (engine, name)
        got = [s.alloc(), s.alloc(), s.alloc()]
        s.free(got[0])
        d = MemSlab(8, 2, engine=engine)
        got += [d.alloc(), d.alloc(), d.alloc()]
        if got != [0, 1, None, 0, 1, None] or w[0] != 2 or s.num_used != 1:
            return "%s engine handed out %r (expected [0, 1, None, 0, 1, None])" % (engine, got)
    except Exception as e:  # noqa: BLE001 - any failure means: do not use this engine
        return "%s engine failed its self-check: %s: %s" % (engine, type(e).__name__, e)
    return None


def _check_buffer(buffer, size, block_size, num_blocks):
    """Validate a caller's buffer; return a byte-indexed object over exactly `size` bytes."""
    try:
        mv = memoryview(buffer)
    except TypeError:
        raise TypeError(
            "buffer must be a bytearray, array or memoryview, got %s" % type(buffer).__name__
        )
    addr = uctypes.addressof(mv) if len(mv) else 0
    # Bytes per item (a memoryview of an array('I') counts items): the distance
    # to the next item, measurable with just one item (mv[1:] is then empty).
    itemsize = uctypes.addressof(mv[1:]) - addr if len(mv) else 1
    nbytes = len(mv) * itemsize
    if nbytes < size:
        raise ValueError(
            "buffer holds %d bytes but %d blocks of %d bytes need %d; pass a larger "
            "buffer or ask for fewer blocks" % (nbytes, num_blocks, block_size, size)
        )
    try:
        mv[0] = mv[0]
    except TypeError:
        raise ValueError("buffer is read-only; pass a bytearray (not bytes)")
    if addr & 3:
        raise ValueError(
            "buffer starts at an address that is not a multiple of 4 (off by %d); "
            "slice it at a multiple of 4 or pass a fresh bytearray" % (addr & 3)
        )
    if itemsize == 1:
        return mv[:size]
    return uctypes.bytearray_at(addr, size)  # bytes view over a wider-typed array


def _guarded(alloc, free):
    """Wrap alloc/free in a critical section for slabs shared across threads/cores."""
    try:  # rp2, esp32: masks IRQs on this core and spin-locks the other core
        from machine import disable_irq, enable_irq
    except ImportError:
        disable_irq = None
    if disable_irq is not None:

        def alloc_irq():
            s = disable_irq()
            try:
                return alloc()
            finally:
                enable_irq(s)

        def free_irq(h):
            s = disable_irq()
            try:
                return free(h)
            finally:
                enable_irq(s)

        return alloc_irq, free_irq
    try:
        import _thread
    except ImportError:  # no threads and no IRQ masking: nothing can race
        return alloc, free
    lock = _thread.allocate_lock()

    def alloc_locked():
        with lock:
            return alloc()

    def free_locked(h):
        with lock:
            return free(h)

    return alloc_locked, free_locked
