"""What a slab does when its hot path says no.

The engines (_python.py, _viper.py, _compiled.py) call back into the slab
only on a slow path (the contract is in _layout.py): slab._reject(h),
slab._corrupt(h), slab._poisoned(h, offset) and slab._recheck(h) are
one-line methods that land here, and each raises the error that says why
(or, where the slab changed under the engine, lets alloc() look again).

In a hard IRQ the heap is locked and no message can be formatted: each then
raises a prebuilt exception of the same type (_errors.LOCKED). Nothing here
allocates before it knows it must raise.
"""

from micropython import const

from ._errors import LOCKED, SlabCorruptedError, handle_error_type

_HEAD = const(0)  # _layout.HEAD (a copy: this module loads with the package, _layout need not)


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

    The engines pass only h: the block is read here, as bytes, so a link
    >= 2**30 is never boxed into a big int in the hot path (that would be a
    MemoryError in a hard IRQ on a 32-bit board, not this error). If h turns
    out sound, the slab changed while the engine looked (a caller racing a
    slab that is not threadsafe): alloc() looks again.
    """
    recheck(slab, h)
    return slab.alloc()


def poisoned(slab, h, offset):
    """alloc() found byte `offset` of free block h changed: raise SlabCorruptedError
    naming the first byte that lost the poison (every engine names the same)."""
    recheck(slab, h)
    return slab.alloc()


def recheck(slab, h):
    """Raise SlabCorruptedError if free block h, the head, is unsound; return
    None if it is sound or no longer the head: the slab changed since the
    engine read it, and the engine looks again.

    The python engine's checks run between jumps, where a micropython.schedule
    callback may take block h and write it; a failed check is not proof. The
    verdict here is drawn from copies of the state and of block h taken with
    no jump between them: one instant, at which every alloc()/free() has
    committed (each commits without a jump). With the heap locked (a hard IRQ,
    which no callback cuts into) nothing can be copied: h still being the
    head is then the proof.
    """
    try:
        slab._check_not_moved()
        bs = slab.block_size
        o = h * bs
        st = bytearray(slab._st)  # from here ...
        blk = bytearray(memoryview(slab.buffer)[o : o + bs])  # ... to here: no jump
        from . import _explain

        msg = _explain.unsound(slab, h, st, blk)
    except MemoryError:
        if slab._sw[_HEAD] != h:
            return
        raise LOCKED[SlabCorruptedError]
    if msg is not None:
        raise SlabCorruptedError(msg)
