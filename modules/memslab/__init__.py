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

try:  # a viper decorator is a SyntaxError on a port without a native emitter,
    from . import _viper  # a viper type rule a ViperTypeError (not a SyntaxError)
except Exception:  # noqa: BLE001 - any failure here means: use the Python engine
    _viper = None

__version__ = "0.1.0"

# Word indices of the slab state, the same in _python.py and _viper.py.
_HEAD = 0
_USED = 1
_MAX = 2
_N = 3
_WPB = 4
_WAIT = 5
_STATE_BYTES = 32  # eight 32-bit words; checked mode appends one bit per block


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
        engine_mod = _pick_engine(engine)
        size = block_size * num_blocks
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
        alloc, free = engine_mod.make(self, st, range(num_blocks), checked)
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
            mv = memoryview(self.buffer)
            bs = self.block_size
            self._views = tuple(mv[i * bs : (i + 1) * bs] for i in range(self.num_blocks))
        return self._views

    def alloc_async(self, timeout_ms=None):
        """Awaitable: a block index, waiting while the slab is empty.

        Returns None if timeout_ms (None = wait forever) passes first. Waiters
        are served first come, first served; free() hands them the block.
        """
        from . import _async  # asyncio is loaded only by code that waits

        return _async.alloc(self, timeout_ms)

    def dump(self, limit=48):
        """A picture of the slab: each block used or free and the free-list chain.

        Shows the first `limit` blocks and links (a 65,536-block picture helps
        nobody and would not fit a board's heap). Allocates: not for IRQs.
        """
        n = self.num_blocks
        free = bytearray((n + 7) >> 3)  # one bit per block, only while drawing
        chain, more, end = self._walk(free, limit)
        lines = [
            "MemSlab: %d blocks x %d bytes, engine=%s%s%s"
            % (
                n,
                self.block_size,
                self.engine,
                ", checked" if self.checked else "",
                ", threadsafe" if self.threadsafe else "",
            ),
            "used %d  free %d  max_used %d" % (self.num_used, self.num_free, self.max_used),
        ]
        row = []
        for i in range(min(n, limit)):
            if (free[i >> 3] >> (i & 7)) & 1:
                nxt = self._link(i)
                row.append("[%d:free->%s]" % (i, "end" if nxt == n else nxt))
            else:
                row.append("[%d:used]" % i)
            if len(row) == 6 or i == min(n, limit) - 1:
                lines.append("  " + "  ".join(row))
                row = []
        if n > limit:
            lines.append("  ... %d more blocks" % (n - limit))
        shown = "".join("%d -> " % i for i in chain)
        if more:
            shown += "... (%d more) -> " % more
        lines.append("free list: head -> " + shown + end)
        return "\n".join(lines)

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
        """Raise the error that explains why free(h) was refused."""
        exc = _handle_error_type(h, self.num_blocks) or ValueError  # in range: already free
        try:
            msg = self._handle_message(h, "free")
        except MemoryError:
            raise _LOCKED[exc]
        raise exc(msg)

    def _corrupt(self, h, nxt):
        try:
            what = "an allocated block" if 0 <= nxt <= self.num_blocks else "not a block index"
            msg = "free block %d links to %d, %s; something wrote into block %d after it was freed"
            msg = msg % (h, nxt, what, h)
        except MemoryError:
            raise _LOCKED[SlabCorruptedError]
        raise SlabCorruptedError(msg)

    def _poisoned(self, h, offset):
        try:
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
        """The link word of block i (meaningful only while block i is free)."""
        o = i * self.block_size
        return int.from_bytes(bytes(self.buffer[o : o + 4]), "little")

    def _walk(self, free, limit):
        """Follow the free list, marking each block in the bitmap `free`.

        Returns the first `limit` indices, how many more there are, and how
        the list ends ("end", or what is corrupt about it).
        """
        n = self.num_blocks
        chain = []
        count = 0
        i = self._sw[_HEAD]
        while i != n:
            if not 0 <= i < n:
                return chain, count - len(chain), "%d (corrupt link!)" % i
            if count >= self.num_free:
                return (
                    chain,
                    count - len(chain),
                    "%d ... (more links than free blocks: corrupt!)" % i,
                )
            free[i >> 3] |= 1 << (i & 7)
            if count < limit:
                chain.append(i)
            count += 1
            i = self._link(i)
        return chain, count - len(chain), "end"


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


def _pick_engine(engine):
    if engine == "auto":
        return _viper or _python
    if engine == "python":
        return _python
    if engine == "viper":
        if _viper is None:
            raise ValueError(
                "engine='viper' needs a port with a native emitter; use engine='auto' or 'python'"
            )
        return _viper
    raise ValueError("engine must be 'auto', 'viper' or 'python', got %r" % (engine,))


def _check_buffer(buffer, size, block_size, num_blocks):
    """Validate a caller's buffer; return a byte-indexed object over exactly `size` bytes."""
    try:
        mv = memoryview(buffer)
    except TypeError:
        raise TypeError(
            "buffer must be a bytearray, array or memoryview, got %s" % type(buffer).__name__
        )
    addr = uctypes.addressof(mv) if len(mv) else 0
    itemsize = uctypes.addressof(mv[1:]) - addr if len(mv) > 1 else 1
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
