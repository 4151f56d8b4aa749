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

Where things are: this file is the public class and how an engine is chosen;
_layout.py the state words every part shares; _python.py and _viper.py the
hot path, _compiled.py the viper pair compiled per slab (engine="compiled");
_errors.py the checks at the edge; _explain.py the messages;
_selfcheck.py the engine self-check; _guard.py the critical section;
_waitq.py and _async.py waiting for a block; _picture.py dump();
_inventory.py used() and reset(); _pool.py MemPool; _queue.py (and
_queue_viper.py) BlockQueue; _hooks.py what the engines call when they say
no. `import memslab` loads this file, _errors,
_hooks and _viper; _python loads where it runs (no native emitter,
engine="python", or viper's fallback); the rest loads when first used.
"""

import uctypes
from micropython import const

from . import _hooks
from ._errors import (  # noqa: F401 - SlabCorruptedError is public: memslab.SlabCorruptedError
    SlabCorruptedError,
    SlabEmptyError,
    check_buffer,
    check_geometry,
    check_timeout,
    handle_error_type,
    words,
)

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
# State words (see _layout.py): const copies, folded into the bytecode, where
# a name imported from _layout would be a dictionary lookup on every use.
_USED = const(1)
_MAX = const(2)
_N = const(3)
_WPB = const(4)
_WORDS = const(8)
_BITS = const(32)

_viper_checked = False  # _selfcheck has run on the viper engine (once, on the first viper slab)


class MemSlab:
    """Fixed-size blocks from one static buffer with O(1), heap-free alloc/free.

    MemSlab(block_size, num_blocks, buffer=None, *, engine="auto",
            checked=False, threadsafe=False)

    alloc() -> int or None   take a block (LIFO reuse); None when none is free
    free(h)                  give block h back; a bad h raises and changes nothing
    view(h) -> memoryview    the block's bytes (allocates: not in hard IRQs)
    views() -> tuple         one memoryview per block, built once (IRQ-safe to index)
    with block() as h        a block freed when the with-block exits
    await alloc_async(timeout_ms=None) -> int or None   wait in a task
    async with block_async(timeout_ms=None) as h        wait, free on exit
    alloc_wait(timeout_ms=None) -> int or None          wait in a thread
    used(), stats(), addressof(h), reset(owned=()), dump()
    """

    # Defaults kept on the class, not in every instance's dict: each instance
    # attribute is a slot in the slab's own hash table (heap per slab).
    engine = "viper"  # "python" on that engine; "compiled" set by _compiled.make()
    checked = False
    threadsafe = False
    _free_raw = None  # free() without the threadsafe guard, when there is one
    _r = range(0x3FFFFFFF)  # _r[h]: the small-int object h, for any int h in range
    _views = None  # the tuple built by views()
    _waiters = None  # _waitq.Waiters, made by the first waiter
    _section = None  # (enter, exit) of the threadsafe guard; set below the class

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
        check_geometry(block_size, num_blocks)
        engine_mod = _pick_engine(engine)
        size = block_size * num_blocks
        owner = buffer
        if buffer is None:
            owner = buffer = bytearray(size)  # MemoryError here, never later in alloc()
        else:
            buffer = check_buffer(buffer, size, block_size, num_blocks)
        st = bytearray(_WORDS * 4 + ((num_blocks + 7) >> 3 if checked else 0))
        sw = words(st, _WORDS)
        sw[_N] = num_blocks
        sw[_WPB] = block_size >> 2
        engine_mod.build(st, buffer, checked)

        # Only what differs from the class defaults above becomes an instance attribute.
        self.block_size = block_size
        self.num_blocks = num_blocks
        self.buffer = buffer
        if checked:
            self.checked = True
        # Keeps the bytes alive whatever happens to the public `buffer`
        # attribute (the pair writes to them); resizing it is detected.
        self._owner = owner
        self._owner_at = uctypes.addressof(owner)
        self._st = st
        self._sw = sw
        if engine_mod is not _viper and engine != "compiled":  # the python engine
            self.engine = "python"
        alloc, free = engine_mod.make(self, st, checked)  # "compiled" sets self.engine itself
        if threadsafe:
            from . import _guard

            self.threadsafe = True
            self._free_raw = free  # for the slow paths, which run inside the guard
            alloc, free, self._section = _guard.guarded(alloc, free)
        # Set per instance (they are closures over this slab's state): the
        # methods of the same names below only document them.
        self.alloc = alloc
        self.free = free

    # The hot path. The instance attributes set in __init__ shadow these two
    # methods, so calling them costs no method lookup; they are here for
    # help(), hasattr(MemSlab, "alloc") and editors.
    def alloc(self):
        """Take a free block: its index 0..num_blocks-1, or None when none is free.

        Never allocates heap memory and never blocks: legal in a hard IRQ.
        LIFO: the block freed last is handed out first.
        """
        return self.alloc()

    def free(self, h):
        """Give block h back. A bad h raises TypeError/ValueError and changes nothing.

        Hands h straight to the oldest waiter of alloc_async/alloc_wait, if any.
        """
        return self.free(h)

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

    def stats(self):
        """Counters in blocks and in bytes (Zephyr's k_mem_slab_runtime_stats_get)."""
        used, peak, bs = self._sw[_USED], self._sw[_MAX], self.block_size
        return {
            "block_size": bs,
            "num_blocks": self.num_blocks,
            "num_used": used,
            "num_free": self.num_blocks - used,
            "max_used": peak,
            "allocated_bytes": used * bs,
            "free_bytes": (self.num_blocks - used) * bs,
            "max_allocated_bytes": peak * bs,
        }

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

    def addressof(self, h):
        """The address of block h's first byte (for DMA and uctypes.struct).

        buffer address + h * block_size. Allocates nothing where the address
        is a small int (RP2040 SRAM at 0x20000000, ESP32 DRAM at 0x3FFxxxxx).
        """
        self._check_not_moved()
        self._check_handle(h, "addressof")
        return uctypes.addressof(self.buffer) + h * self.block_size

    def block(self):
        """`with slab.block() as h:` a block, freed when the with-block exits (also
        on an exception). SlabEmptyError, a MemoryError, when none is free."""
        return _Block(self)

    def alloc_async(self, timeout_ms=None):
        """Awaitable: a block index, waiting while the slab is empty.

        Returns None if timeout_ms (None = wait forever) passes first. Waiters
        are served first come, first served; free() hands them the block.
        Allocates (a coroutine, a waiter): call it from tasks, not IRQs.
        """
        check_timeout("alloc_async", timeout_ms)
        self._check_not_moved()
        return _glue().alloc(self, timeout_ms)

    def block_async(self, timeout_ms=None):
        """`async with slab.block_async(timeout_ms) as h:` waits like alloc_async,
        frees h on exit; raises asyncio.TimeoutError when the timeout passes."""
        check_timeout("block_async", timeout_ms)
        self._check_not_moved()
        return _glue().Block(self, timeout_ms)

    def alloc_wait(self, timeout_ms=None):
        """Block this thread until a block is free; its index, or None on timeout.

        Zephyr's k_mem_slab_alloc(slab, timeout): for threads and the RP2040's
        second core. Needs threadsafe=True. Waiting threads and alloc_async
        tasks are served in one first-come, first-served order. The thread
        polls every millisecond (no IRQ-safe way to wake it exists).
        """
        check_timeout("alloc_wait", timeout_ms)
        if not self.threadsafe:
            raise ValueError(
                "alloc_wait() needs MemSlab(..., threadsafe=True): the waiting thread "
                "and whoever frees share the slab"
            )
        self._check_not_moved()
        from . import _waitq

        return _waitq.alloc_wait(self, timeout_ms)

    def used(self):
        """The indices of the allocated blocks, ascending (a leak report).

        Exact in both modes: checked=True reads its bitmap; the default mode
        walks the free list (SlabCorruptedError if it is broken). Allocates.
        """
        self._check_not_moved()
        from . import _inventory

        return _inventory.used(self)

    def reset(self, owned=()):
        """Rebuild the free list so that exactly the blocks in `owned` stay allocated.

        The way back after a SlabCorruptedError. Fixes the counters, keeps
        blocks already handed to a waiter, serves waiting tasks/threads first,
        and rejects a bad entry (TypeError, ValueError) changing nothing. Not
        for IRQs (it allocates). Call it while nothing else allocs or frees:
        threadsafe=True keeps threads and hard IRQs out of the rebuild, but a
        micropython.schedule callback (a soft IRQ) could still cut into it.
        """
        self._check_not_moved()
        from . import _inventory

        _inventory.reset(self, owned)

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

    # -- what the engines call when they say no: each raises (_hooks.py) or
    # hands the block on. _hooks is imported with the package: an import
    # inside a hard IRQ would need the heap.

    def _reject(self, h):
        return _hooks.reject(self, h)

    def _corrupt(self, h):
        return _hooks.corrupt(self, h)

    def _poisoned(self, h, offset):
        return _hooks.poisoned(self, h, offset)

    def _handoff(self, h):
        # free(h) with waiters: h goes to the oldest waiter, not to the free
        # list (num_used unchanged). Allocation-free: IRQ-safe.
        self._waiters.give(h)

    # -- the checks every method shares --

    def _check_not_moved(self):
        """Raise if the caller resized the slab's buffer after building the slab.

        A bytearray that grows may move its bytes; alloc()/free() would then
        write into memory the heap has given to something else (a crash).
        The hot path cannot afford to look; the slow paths and every other
        method do. (A memoryview's own pointer never moves, so a resized
        bytearray behind a memoryview cannot be seen.)
        """
        if uctypes.addressof(self._owner) != self._owner_at:
            from . import _explain

            raise RuntimeError(_explain.moved_message())

    def _check_handle(self, h, verb):
        exc = handle_error_type(h, self.num_blocks)
        if exc is not None:
            from . import _explain

            raise exc(_explain.handle_message(self, h, verb))

    def _is_used(self, h):
        return (self._st[_BITS + (h >> 3)] >> (h & 7)) & 1

    def _link(self, i):
        """The link word of block i, unsigned (meaningful only while block i is free)."""
        o = i * self.block_size
        return int.from_bytes(bytes(self.buffer[o : o + 4]), "little")

    def _walk(self, walked, limit):
        from . import _picture

        return _picture.walk(self, walked, limit)


def MemPool(classes, buffer=None, *, engine="auto", checked=False, threadsafe=False):
    """Size classes over slabs: MemPool(((16, 32), (64, 16), (256, 4))).

    pool.alloc(n) -> a handle from the smallest class that fits (falling back
    to larger ones) or None; pool.free(h), view(h), size_of(h). See _pool.py,
    loaded on the first MemPool().
    """
    from . import _pool

    return _pool.MemPool(classes, buffer, engine=engine, checked=checked, threadsafe=threadsafe)


def BlockQueue(owner):
    """A FIFO of one MemSlab's or MemPool's block handles, from an IRQ to a task.

    q.put(h) and q.get() (None when empty) are O(1) and heap-free (hard-IRQ
    safe); await q.get_async(timeout_ms=None), async for h in q,
    q.get_wait(timeout_ms=None), len(q). See _queue.py, loaded by the first
    BlockQueue().
    """
    from . import _queue

    return _queue.BlockQueue(owner)


def _no_enter():
    return 0


def _no_exit(_):
    pass


_NO_SECTION = (_no_enter, _no_exit)  # a slab that is not threadsafe guards nothing
MemSlab._section = _NO_SECTION


class _Block:
    """The context manager of MemSlab.block()."""

    def __init__(self, slab):
        self.slab = slab
        self.h = None

    def __enter__(self):
        h = self.slab.alloc()
        if h is None:
            raise SlabEmptyError(
                "block(): all %d blocks are in use; free one, or wait with block_async()"
                % self.slab.num_blocks
            )
        self.h = h
        return h

    def __exit__(self, *exc):
        self.slab.free(self.h)
        return False


def _glue():
    """memslab._async, loaded by the first waiting task (so import memslab never loads asyncio)."""
    try:
        from . import _async
    except ImportError as e:
        raise ImportError(
            "alloc_async/block_async need asyncio and memslab/_async.py (%s); a firmware "
            "frozen with include(..., asyncio=False) leaves them out" % e
        )
    return _async


def _block_views(buf, block_size, num_blocks):
    mv = memoryview(buf)
    return tuple(mv[i * block_size : (i + 1) * block_size] for i in range(num_blocks))


# -- choosing an engine --


def _pick_engine(engine):
    if engine not in ("auto", "viper", "python", "compiled"):
        raise ValueError(
            "engine must be 'auto', 'viper', 'python' or 'compiled', got %r" % (engine,)
        )
    if engine != "python" and _viper is not None and _viper_usable() is None:
        if engine == "compiled":
            from . import _compiled  # opt-in: loaded by the first compiled slab

            return _compiled
        return _viper
    if engine in ("viper", "compiled"):
        raise ValueError(
            "engine=%r is not available: %s; use 'auto' or 'python'" % (engine, VIPER_ERROR)
        )
    from . import _python  # loaded only where the python engine runs

    return _python


def _forget(name):
    """Drop a submodule that has done its job (its code leaves the heap)."""
    import sys

    sys.modules.pop(__name__ + "." + name, None)
    globals().pop(name, None)


def _viper_usable():
    """None when the viper engine may be used, else why not (also in VIPER_ERROR)."""
    global VIPER_ERROR, _viper_checked
    if _viper is not None and not _viper_checked:
        _viper_checked = True
        explained = "_explain" in globals()  # loaded by an error before this
        from . import _selfcheck

        VIPER_ERROR = _selfcheck.check("viper")
        _forget("_selfcheck")  # runs once: its code need not stay on the heap
        if not explained:
            _forget("_explain")  # loaded by the check's refused frees; the next error reloads it
    return VIPER_ERROR
