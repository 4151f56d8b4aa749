"""MemSlab's methods beyond construction, the counters and the hot path.

Loaded by MemSlab.__getattr__ the first time a program uses any of them,
which attaches them all to the class: from then on they are plain methods
(help() and dir() show them). `import memslab` does not pay for this code:
on a board, code loaded from .mpy sits in the heap. The first use allocates
(the import), so it must not happen in a hard IRQ: call views() and the
rest once before enabling interrupts.
"""

import uctypes
from micropython import const

from . import MemSlab, SlabEmptyError

_HEAD = const(0)  # _layout.HEAD
_USED = const(1)  # _layout.USED
_MAX = const(2)  # _layout.MAX
_BITS = const(48)  # _layout.BITS


# The hot path: each slab's __init__ sets its own alloc and free (closures
# over its state), which shadow these two; they are here for help().
def alloc(self):
    """Take a free block: its index 0..num_blocks-1, or None when none is free."""
    # Never allocates heap memory and never blocks: legal in a hard IRQ.
    # LIFO: the block freed last is handed out first.
    return self.alloc()


def free(self, h):
    """Give block h back. A bad h raises TypeError/ValueError and changes nothing."""
    # Hands h straight to the oldest waiter of alloc_async/alloc_wait, if any.
    return self.free(h)


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
        from . import _explain

        raise ValueError(_explain.view_free_message(h))
    o = h * self.block_size
    return memoryview(self.buffer)[o : o + self.block_size]


def views(self):
    """One memoryview per block, built on the first call and cached."""
    # Build it before enabling interrupts; then `slab.views()[h]` is a plain
    # tuple lookup that an interrupt handler may use. Costs one memoryview
    # object per block, so it is opt-in.
    if self._views is None:
        self._check_not_moved()
        # Built in a helper: a generator expression here would close over
        # locals, making this method allocate cells on every call.
        self._views = _block_views(self.buffer, self.block_size, self.num_blocks)
    return self._views


def addressof(self, h):
    """The address of block h's first byte (for DMA and uctypes.struct)."""
    # buffer address + h * block_size. Allocates nothing where the address
    # is a small int (RP2040 SRAM at 0x20000000, ESP32 DRAM at 0x3FFxxxxx).
    self._check_not_moved()
    self._check_handle(h, "addressof")
    return uctypes.addressof(self.buffer) + h * self.block_size


def block(self):
    """`with slab.block() as h:` a block, freed when the with-block exits (also on an exception). SlabEmptyError, a MemoryError, when none is free."""
    return _Block(self)


def alloc_async(self, timeout_ms=None):
    """Awaitable: a block index, waiting while the slab is empty."""
    # Returns None if timeout_ms (None = wait forever) passes first. Waiters
    # are served first come, first served; free() hands them the block.
    # Allocates (a coroutine, a waiter): call it from tasks, not IRQs.
    _check_timeout("alloc_async", timeout_ms)
    self._check_not_moved()
    return _glue().alloc(self, timeout_ms)


def block_async(self, timeout_ms=None):
    """`async with slab.block_async(timeout_ms) as h:` waits like alloc_async, frees h on exit; raises asyncio.TimeoutError when the timeout passes."""
    _check_timeout("block_async", timeout_ms)
    self._check_not_moved()
    return _glue().Block(self, timeout_ms)


def alloc_wait(self, timeout_ms=None):
    """Block this thread until a block is free; its index, or None on timeout."""
    # Zephyr's k_mem_slab_alloc(slab, timeout): for threads and the RP2040's
    # second core. Needs threadsafe=True. Waiting threads and alloc_async
    # tasks are served in one first-come, first-served order. The thread
    # polls every millisecond (no IRQ-safe way to wake it exists).
    _check_timeout("alloc_wait", timeout_ms)
    if not self.threadsafe:
        from . import _explain

        raise ValueError(_explain.wait_needs_threadsafe())
    self._check_not_moved()
    from . import _waitq

    return _waitq.alloc_wait(self, timeout_ms)


def used(self):
    """The indices of the allocated blocks, ascending (a leak report)."""
    # Exact in both modes, the slab at one instant: a copy of the state and
    # of every link is taken with no jump between (inside the guard when
    # threadsafe), then read; SlabCorruptedError if the copied free list is
    # broken. Allocates (about 10 bytes per block, for a moment).
    self._check_not_moved()
    from . import _inventory

    return _inventory.used(self)


def reset(self, owned=()):
    """Rebuild the free list so that exactly the blocks in `owned` stay allocated."""
    # The way back after a SlabCorruptedError. Fixes the counters, keeps
    # blocks already handed to a waiter, serves waiting tasks/threads first,
    # and rejects a bad entry (TypeError, ValueError) changing nothing. Not
    # for IRQs (it allocates). Call it while nothing else allocs or frees:
    # threadsafe=True keeps threads and hard IRQs out of the rebuild, but a
    # micropython.schedule callback (a soft IRQ) could still cut into it.
    self._check_not_moved()
    from . import _inventory

    _inventory.reset(self, owned)


def dump(self, limit=48):
    """A picture of the slab: each block used or free and the free-list chain."""
    # Shows the first `limit` blocks and links (a 65,536-block picture helps
    # nobody and would not fit a board's heap). Allocates: not for IRQs.
    self._check_not_moved()
    from . import _picture  # loaded only when drawn

    return _picture.draw(self, limit)


def _repr(self):  # MemSlab.__repr__
    return "<MemSlab %dx%d used=%d/%d engine=%s>" % (
        self.num_blocks,
        self.block_size,
        self.num_used,
        self.num_blocks,
        self.engine,
    )


# -- the checks and reads the methods (and _picture, _inventory) share --


def _check_not_moved(self):
    """Raise if the caller resized the slab's buffer after building the slab."""
    # A bytearray that grows may move its bytes; alloc()/free() would then
    # write into memory the heap has given to something else (a crash).
    # The hot path cannot afford to look; the slow paths and every other
    # method do. (A memoryview's own pointer never moves, so a resized
    # bytearray behind a memoryview cannot be seen.)
    if uctypes.addressof(self._owner) != self._owner_at:
        from . import _explain

        raise RuntimeError(_explain.moved_message())


def _check_handle(self, h, verb):
    if h.__class__ is not int or not 0 <= h < self.num_blocks:
        from . import _explain

        exc = TypeError if h.__class__ is not int else ValueError
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


_NAMES = (
    "alloc",
    "free",
    "reset_max",
    "stats",
    "view",
    "views",
    "addressof",
    "block",
    "alloc_async",
    "block_async",
    "alloc_wait",
    "used",
    "reset",
    "dump",
    "_repr",
    "_check_not_moved",
    "_check_handle",
    "_is_used",
    "_link",
    "_walk",
)
_g = globals()
for _name in _NAMES:
    setattr(MemSlab, _name, _g[_name])
del _g, _name


def attr(slab, name):
    """What MemSlab.__getattr__ returns, now that the methods are on the class: the attribute, or the AttributeError a class without __getattr__ would raise."""
    if name in _NAMES:
        return getattr(slab, name)
    raise AttributeError("'%s' object has no attribute '%s'" % (type(slab).__name__, name))


class _Block:
    """The context manager of MemSlab.block()."""

    def __init__(self, slab):
        self.slab = slab
        self.h = None

    def __enter__(self):
        if self.h is not None:  # one object holds one block: a nested with would lose it
            raise RuntimeError(
                "block(): this object already holds block %d; call slab.block() "
                "again for a second block" % self.h
            )
        h = self.slab.alloc()
        if h is None:
            from . import _explain

            raise SlabEmptyError(_explain.empty_message("block()", self.slab.num_blocks))
        self.h = h
        return h

    def __exit__(self, *exc):
        h = self.h
        self.h = None  # first: reusable even if free() raises (freed inside the with)
        self.slab.free(h)
        return False


def _check_timeout(verb, timeout_ms):
    # None (wait forever) or an int up to _errors.MAX_TIMEOUT_MS; _errors says what is wrong.
    if timeout_ms is not None and (timeout_ms.__class__ is not int or timeout_ms > 0x1FFFFFFF):
        from . import _errors

        _errors.check_timeout(verb, timeout_ms)


def _glue():
    """memslab._async, loaded by the first waiting task (so import memslab never loads asyncio)."""
    try:
        from . import _async
    except ImportError as e:
        from . import _explain

        raise ImportError(_explain.glue_message(e))
    return _async


def _block_views(buf, block_size, num_blocks):
    mv = memoryview(buf)
    return tuple(mv[i * block_size : (i + 1) * block_size] for i in range(num_blocks))
