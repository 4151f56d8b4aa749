"""What a slab does when its hot path says no.

The engines (_python.py, _viper.py, _compiled.py) call back into the slab
only on a slow path (the contract is in _layout.py): slab._reject(h),
slab._corrupt(h) and slab._poisoned(h, offset) are one-line methods that
land here, and each raises the error that says why.

In a hard IRQ the heap is locked and no message can be formatted: each then
raises a prebuilt exception of the same type (_errors.LOCKED). Nothing here
allocates before it knows it must raise.
"""

from ._errors import LOCKED, SlabCorruptedError, handle_error_type


def reject(slab, h):
    """free(h) was refused by the engine: raise the error that says why.

    One exception: an int of the right value that is not the small-int
    object itself (a long int from array('q')) is freed as its small int:
    the viper pairs see no small int and send it here (python's default
    mode frees it itself; its checked mode sends it here too).
    """
    if h.__class__ is int and 0 <= h < slab.num_blocks and h is not slab._r[h]:
        return (slab._free_raw or slab.free)(slab._r[h])  # inside the guard, if any
    exc = handle_error_type(h, slab.num_blocks) or ValueError  # in range: already free
    try:
        slab._check_not_moved()
        from . import _explain  # loaded on the first error

        msg = _explain.handle_message(slab, h, "free")
    except MemoryError:
        raise LOCKED[exc]
    raise exc(msg)


def corrupt(slab, h):
    """alloc() found free block h unsound: raise SlabCorruptedError.

    The engines pass only h: the link word is read here, as 4 bytes, so a
    link >= 2**30 is never boxed into a big int in the hot path (that would
    be a MemoryError in a hard IRQ on a 32-bit board, not this error).
    """
    try:
        slab._check_not_moved()
        from . import _explain

        msg = _explain.corrupt_message(slab, h, slab._link(h))
    except MemoryError:
        raise LOCKED[SlabCorruptedError]
    raise SlabCorruptedError(msg)


def poisoned(slab, h, offset):
    """alloc() found byte `offset` of free block h changed: raise SlabCorruptedError."""
    try:
        slab._check_not_moved()
        from . import _explain

        msg = _explain.poisoned_message(h, offset)
    except MemoryError:
        raise LOCKED[SlabCorruptedError]
    raise SlabCorruptedError(msg)
