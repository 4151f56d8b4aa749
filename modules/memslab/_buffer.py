"""The caller's buffer: what MemSlab(..., buffer) and MemPool(..., buffer) accept.

A module of its own, not part of _errors.py: every slab over a given buffer
passes this check, so it stays loaded (code from .mpy is heap), and every
class of a MemPool is such a slab. The check allocates nothing that stays.
"""

import uctypes


def check_buffer(buffer, size, block_size, num_blocks):
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
