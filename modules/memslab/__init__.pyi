"""Type stubs for memslab's public API (micropython-stubs style).

Editors and pyright read this file instead of __init__.py; it is never copied
to a board (package.json and manifest.py name only .py files). `make
typecheck` checks every board's code against it and the board's stubs.
"""

from typing import Any

from _mpy_shed import AnyWritableBuf

VIPER_ERROR: str | None
COMPILED_ERROR: str | None
"""Why the viper engine is not used: None while it is in use."""

# internal, for the package's own modules
def _words(buf: Any, count: int, kind: int = ...) -> Any: ...

class SlabCorruptedError(RuntimeError):
    """The free list or a free block was overwritten; alloc() refuses to use it."""

class SlabEmptyError(MemoryError):
    """slab.block() found no free block."""

_LOCKED: SlabCorruptedError  # internal: raised when the heap is locked

class _Block:
    def __enter__(self) -> int: ...
    def __exit__(self, *exc: object) -> bool: ...

class _AsyncBlock:
    async def __aenter__(self) -> int: ...
    async def __aexit__(self, *exc: object) -> bool: ...

class MemSlab:
    """Fixed-size blocks from one static buffer with O(1), heap-free alloc/free."""

    block_size: int
    num_blocks: int
    buffer: bytearray | memoryview
    engine: str
    checked: bool
    threadsafe: bool
    _section: tuple[Any, Any]  # internal: the (enter, exit) of its guard
    _st: bytearray  # internal: its state words, then checked mode's bit per block
    _owner: Any  # internal: the bytes whose move is refused (a MemPool's, for its classes)
    _owner_at: int
    def __init__(
        self,
        block_size: int,
        num_blocks: int,
        buffer: AnyWritableBuf | None = None,
        *,
        engine: str = "auto",
        checked: bool = False,
        threadsafe: bool = False,
    ) -> None: ...
    def alloc(self) -> int | None:
        """A free block's index, or None. Heap-free: legal in a hard IRQ."""
    def free(self, h: int) -> None:
        """Give block h back; a bad h raises TypeError/ValueError and changes nothing."""
    @property
    def num_used(self) -> int: ...
    @property
    def num_free(self) -> int: ...
    @property
    def max_used(self) -> int: ...
    def reset_max(self) -> None: ...
    def stats(self) -> dict[str, int]: ...
    def view(self, h: int) -> memoryview: ...
    def views(self) -> tuple[memoryview, ...]: ...
    def addressof(self, h: int) -> int: ...
    def block(self) -> _Block: ...
    def alloc_async(self, timeout_ms: int | None = None) -> Any:
        """Awaitable -> int or None: a block, waiting while the slab is empty."""
    def block_async(self, timeout_ms: int | None = None) -> _AsyncBlock: ...
    def alloc_wait(self, timeout_ms: int | None = None) -> int | None: ...
    def used(self) -> list[int]: ...
    def reset(self, owned: list[int] | tuple[int, ...] = ()) -> None: ...
    def dump(self, limit: int = 48) -> str: ...

class BlockQueue:
    """A FIFO of one MemSlab's or MemPool's block handles, from an IRQ to a task."""

    engine: str
    threadsafe: bool
    def __init__(self, owner: MemSlab | MemPool) -> None: ...
    def put(self, h: int) -> None:
        """Append h: O(1), heap-free, legal in a hard IRQ; hands h to the oldest waiter."""
    def get(self) -> int | None:
        """The oldest handle, or None when empty: O(1), heap-free."""
    def __len__(self) -> int: ...
    async def get_async(self, timeout_ms: int | None = None) -> int | None: ...
    def __aiter__(self) -> BlockQueue: ...
    async def __anext__(self) -> int: ...
    def get_wait(self, timeout_ms: int | None = None) -> int | None: ...
    def clear(self) -> list[int]: ...

class MemPool:
    """Size classes over slabs: MemPool(((16, 32), (64, 16), (256, 4)))."""

    slabs: tuple[MemSlab, ...]
    sizes: tuple[int, ...]
    first: tuple[int, ...]
    num_blocks: int
    buffer: bytearray | memoryview
    engine: str
    checked: bool
    threadsafe: bool
    def __init__(
        self,
        classes: tuple[tuple[int, int], ...] | list[tuple[int, int]],
        buffer: AnyWritableBuf | None = None,
        *,
        engine: str = "auto",
        checked: bool = False,
        threadsafe: bool = False,
    ) -> None: ...
    def alloc(self, n: int) -> int | None:
        """A handle to a block of at least n bytes, or None. Heap-free: legal in a hard IRQ."""
    def free(self, h: int) -> None:
        """Give block h back; a bad h raises TypeError/ValueError and changes nothing."""
    def view(self, h: int) -> memoryview: ...
    def views(self) -> tuple[memoryview, ...]:
        """One memoryview per block, indexed by handle, built once (IRQ-safe to index)."""
    def size_of(self, h: int) -> int: ...
    def addressof(self, h: int) -> int: ...
    @property
    def num_used(self) -> int: ...
    @property
    def num_free(self) -> int: ...
    @property
    def max_used(self) -> int:
        """The most blocks in use at once, pool-wide."""
    def reset_max(self) -> None: ...
    def used(self) -> list[int]: ...
    def stats(self) -> dict[str, Any]: ...
    def block(self, n: int) -> _Block: ...
    async def alloc_async(self, n: int, timeout_ms: int | None = None) -> int | None: ...
    def block_async(self, n: int, timeout_ms: int | None = None) -> _AsyncBlock: ...
    def dump(self, limit: int = 48) -> str: ...
