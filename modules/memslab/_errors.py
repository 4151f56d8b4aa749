"""memslab's errors: the exception types and the checks at the edge.

Which error a bad argument gets is decided here, in one place (a caller's
buffer: _buffer.py). Not loaded by `import memslab`: MemSlab() and MemPool()
test their arguments themselves and come here only when one is wrong;
used(), reset() and the timeouts load it. The exception types and words()
live in the package (memslab/__init__.py) and are named here too.
"""

from . import SlabCorruptedError, SlabEmptyError  # noqa: F401 - defined with the package
from . import _words as words  # noqa: F401 - defined with the package, which needs it first


def check_int(name, value):
    if value.__class__ is not int:
        raise TypeError("%s must be an int, got %s" % (name, type(value).__name__))


def check_geometry(block_size, num_blocks):
    """The constructor's rules for block_size and num_blocks."""
    check_int("block_size", block_size)
    check_int("num_blocks", num_blocks)
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


# The longest wait: ticks_diff() is exact only within half the ticks_ms
# period (2**30 ms), so a longer deadline would look already past.
MAX_TIMEOUT_MS = (1 << 29) - 1


def check_timeout(verb, timeout_ms, most=MAX_TIMEOUT_MS):
    """timeout_ms: None (wait forever) or an int of at most `most` ms."""
    if timeout_ms is None:
        return
    if timeout_ms.__class__ is not int:
        raise TypeError(
            "%s(timeout_ms): timeout_ms is an int number of milliseconds "
            "or None (wait forever), got %s" % (verb, type(timeout_ms).__name__)
        )
    if timeout_ms > most:
        raise ValueError(
            "%s(timeout_ms=%d): at most %d ms (6.2 days, the ticks_ms range); "
            "pass None to wait forever" % (verb, timeout_ms, most)
        )


def handle_error_type(h, n):
    """TypeError, ValueError or None (a valid index) for a block index h of n blocks."""
    if h.__class__ is not int:
        return TypeError
    if not 0 <= h < n:
        return ValueError
    return None
