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

Where things are: this file is what a slab needs to be built and to run
(construction, the counters, the engines' slow-path hooks) and how an engine
is chosen; _methods.py every other MemSlab method, attached to the class on
first use; _layout.py the state words every part shares; _python.py and
_viper.py the hot path, _compiled.py the viper pair compiled per slab
(engine="compiled"); _errors.py the checks at the edge (_buffer.py a
caller's buffer); _explain.py the
messages; _selfcheck.py the engine self-check; _guard.py the critical
section; _waitq.py and _async.py waiting for a block; _picture.py dump();
_inventory.py used() and reset(); _pool.py MemPool; _queue.py BlockQueue
(its pairs in _queue_viper.py and _queue_python.py).

On a board, code loaded from .mpy lives in the heap, and so does every name
it brings into the interned-string pool (for good): `import memslab` loads
only this file and _viper; _python loads where it runs (no native emitter,
engine="python", or viper's fallback); the rest loads when first used.
"""

import uctypes
from micropython import const


class SlabCorruptedError(RuntimeError):
    """The free list or a free block was overwritten; alloc() refuses to use it."""


class SlabEmptyError(MemoryError):
    """slab.block() found no free block (a MemoryError, as an empty heap would raise)."""


# Raised by the slow paths when the heap is locked (a hard IRQ), where no
# message can be formatted nor a class instantiated: built now. (A built-in
# exception needs no heap: MicroPython falls back to a static one.)
_LOCKED = SlabCorruptedError("memslab: free list corrupted (heap locked)")

# Why the viper engine is not used (None while it is usable). A viper decorator
# is a SyntaxError on a port without a native emitter; a .mpy built for another
# CPU is a ValueError('incompatible .mpy arch'); frozen code that computes a
# wrong constant is caught by _selfcheck on the first viper slab.
VIPER_ERROR = None
# Why the last engine="compiled" slab got the viper pair (None: it got the
# compiled one): the compiled engine could not be loaded (a full heap), or
# refused the build (_compiled.make).
COMPILED_ERROR = None
_viper_checked = False  # _selfcheck has run on the viper engine (once, on the first viper slab)

# State words (see _layout.py): const copies, folded into the bytecode, where
# a name imported from _layout would be a dictionary lookup on every use.
_HEAD = const(0)
_USED = const(1)
_MAX = const(2)
_N = const(3)
_WPB = const(4)
_WORDS = const(12)

del const  # const() is the compiler's: the name need not take a slot in this module's dict


# `state`: the descriptor of a state's 12 words, shared: a view keeps its
# descriptor's tuple alive, so one tuple for every slab saves 32 bytes of heap
# per slab. (A default argument, not a global: a slot fewer in the module's
# dict, whose next entry would grow its table by 6 slots.)
def _words(buf, count, kind=uctypes.INT32, state={"w": (uctypes.ARRAY | 0, uctypes.INT32 | 12)}):  # noqa: B006
    """A uctypes array of `count` native 32-bit words over `buf` (no copy).

    How Python code reads a slab's state and blocks (also _errors.words)."""
    desc = (
        state
        if count == 12 and kind == uctypes.INT32
        else {"w": (uctypes.ARRAY | 0, kind | count)}
    )
    return uctypes.struct(uctypes.addressof(buf), desc, uctypes.NATIVE).w


try:  # after _words, which _viper imports from here
    from . import _viper
except Exception as e:  # noqa: BLE001 - any failure here means: use the Python engine
    _viper = None
    import sys

    from . import _explain

    VIPER_ERROR = _explain.viper_import_error(e)
    del sys.modules[__name__ + "._explain"], _explain, sys  # the next error loads it again


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

    Only construction, the counters and what the engines call are defined
    here; the other methods are in _methods.py, attached to this class by
    __getattr__ on the first use of any of them (code from .mpy costs heap).
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
    # (enter, exit) of the threadsafe guard. A slab that is not threadsafe
    # guards nothing: int() is 0 and bool(s) is nothing, builtins that cost no
    # heap and allocate nothing (IRQ-safe).
    _section = (int, bool)

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
        # The constructor's rules, tested here; _errors says which is broken.
        if not (
            block_size.__class__ is int
            and num_blocks.__class__ is int
            and block_size >= 4
            and not block_size & 3
            and num_blocks > 0
            and not num_blocks >> 30  # indices stay small ints on 32-bit boards
            and not (block_size * num_blocks) >> 31  # no constant >= 2**30: a heap object there
        ):
            from . import _errors

            _errors.check_geometry(block_size, num_blocks)
        engine_mod = _pick_engine(engine)
        size = block_size * num_blocks
        owner = buffer
        if buffer is None:
            owner = buffer = bytearray(size)  # MemoryError here, never later in alloc()
        else:
            from . import _buffer

            buffer = _buffer.check_buffer(buffer, size, block_size, num_blocks)
        st = bytearray(_WORDS * 4 + ((num_blocks + 7) >> 3 if checked else 0))
        sw = _words(st, _WORDS)
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
        # Set per instance (they are closures over this slab's state):
        # _methods.py documents them for help().
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

    def __repr__(self):  # special methods are looked up on the class only
        return self._repr()  # in _methods.py, with its format string

    def __getattr__(self, name):
        # Called when normal lookup fails: the first use of a method from
        # _methods.py loads it, which attaches them all to this class (later
        # calls are plain method calls). Loading allocates: the first such
        # call must not be in a hard IRQ (README: "call views() before
        # enabling interrupts").
        from . import _methods

        return _methods.attr(self, name)

    # -- what the engines call when they say no: each raises or hands the
    # block on. Called in hard IRQs too: nothing here imports or allocates
    # before it knows it must raise (then _refuse, below).

    def _reject(self, h):
        # free(h) refused by the engine. One exception: an int of the right
        # value that is not the small-int object itself (a long int from
        # array('q')) is freed as its small int: the viper pairs see no small
        # int and send it here (python's checked mode too).
        if h.__class__ is int and 0 <= h < self.num_blocks and h is not self._r[h]:
            return (self._free_raw or self.free)(self._r[h])  # inside the guard, if any
        self._refuse(h, TypeError if h.__class__ is not int else ValueError)

    def _corrupt(self, h, offset=-1):
        # The viper pairs' slow path (as _poisoned(h, offset) too: a write
        # after free; the message names the first byte that lost the poison,
        # as every engine does): raise, or look again if h turned out sound.
        self._refuse(h, SlabCorruptedError)
        return self.alloc()

    _poisoned = _corrupt  # one function: two names cost less heap than two

    def _refuse(self, h, exc):
        # Raise exc with the message that says why (_explain.py, loaded on the
        # first error); for SlabCorruptedError return None instead where block
        # h is sound after all (_python.py's _recheck). The link is read there, as 4
        # bytes: never a big int in a hard IRQ on a 32-bit board. In a hard
        # IRQ the heap is locked: no import (a half-done one would leave
        # sys.modules with an empty entry), no message; the same type,
        # prebuilt where it must be; and no copies to judge on: h still being
        # the head is the proof (no callback cuts into a hard IRQ).
        try:
            [h]  # noqa: B018  # pyright: ignore[reportUnusedExpression] - allocates: a MemoryError here means the heap is locked
            from . import _explain

            msg = _explain.refused(self, exc, h)
        except MemoryError:
            if exc is SlabCorruptedError:
                if self._sw[_HEAD] != h:
                    return
                raise _LOCKED
            raise exc("memslab: bad block index (heap locked)")
        if msg is not None:
            raise exc(msg)
        return

    def _handoff(self, h):
        # free(h) with waiters: h goes to the oldest waiter, not to the free
        # list (num_used unchanged). Allocation-free: IRQ-safe.
        self._waiters.give(h)


def MemPool(*args, **kw):
    """Size classes over slabs: MemPool(((16, 32), (64, 16), (256, 4))).

    MemPool(classes, buffer=None, *, engine="auto", checked=False, threadsafe=False)
    pool.alloc(n) -> a handle from the smallest class that fits (falling back
    to larger ones) or None; pool.free(h), view(h), size_of(h). See _pool.py,
    loaded on the first MemPool(). (No named parameters here: each would be
    an interned name and bytecode on the heap of every program.)
    """
    from . import _pool

    return _pool.MemPool(*args, **kw)


def BlockQueue(*args, **kw):
    """A FIFO of one MemSlab's or MemPool's block handles: BlockQueue(owner).

    q.put(h) and q.get() (None when empty) are O(1) and heap-free (hard-IRQ
    safe); await q.get_async(timeout_ms=None), async for h in q,
    q.get_wait(timeout_ms=None), len(q), q.clear(). See _queue.py, loaded by
    the first BlockQueue().
    """
    from . import _queue

    return _queue.BlockQueue(*args, **kw)


# -- choosing an engine --


def _pick_engine(engine):
    if engine not in ("auto", "viper", "python", "compiled"):
        from . import _explain

        raise ValueError(_explain.engine_message(engine))
    if engine != "python" and _viper is not None and _viper_usable() is None:
        if engine == "compiled":
            return _viper.compiled() or _viper  # COMPILED_ERROR says why not
        return _viper
    if engine in ("viper", "compiled"):
        from . import _explain

        raise ValueError(_explain.engine_message(engine, VIPER_ERROR))
    from . import _python  # loaded only where the python engine runs

    return _python


def _viper_usable():
    """None when the viper engine may be used, else why not (also in VIPER_ERROR)."""
    if _viper is not None and not _viper_checked:
        from . import _selfcheck  # runs once, sets the two globals, and is dropped

        _selfcheck.run(globals())
    return VIPER_ERROR
