"""memslab's explanations: why a block index or a slab was refused, in words.

Loaded on the first error only: a correct program never pays for these
strings (from a .mpy every string is a heap object, and every name stays in
the interned-string pool). In a hard IRQ the heap is locked, so neither
this import nor the formatting can happen; the slow paths then raise an
exception of the same type (memslab._refuse, MemPool._refuse).
"""

import uctypes
from micropython import const

from . import SlabCorruptedError, _words

# _layout's numbers (copies: the self-check loads this module and drops it, and
# would otherwise leave _layout behind on the heap)
_HEAD = const(0)
_USED = const(1)
_BITS = const(48)


def refused(slab, exc, h):
    """Why the engine refused: free(h) (exc TypeError or ValueError), or an
    alloc() that found free block h unsound (SlabCorruptedError): None then
    if h is sound after all, or no longer the head (a callback changed the
    slab while the engine looked). Raises RuntimeError instead if the slab's
    buffer moved (see _methods._check_not_moved)."""
    if uctypes.addressof(slab._owner) != slab._owner_at:
        raise RuntimeError(moved_message())
    if exc is not SlabCorruptedError:
        return handle_message(slab, h, "free")
    bs = slab.block_size
    o = h * bs
    st = bytearray(slab._st)  # from here ...
    blk = bytearray(memoryview(slab.buffer)[o : o + bs])  # ... to here: no jump, one instant
    return unsound(slab, h, st, blk)


def viper_path(why):
    """memslab._viper.PATH for a viper slab that got the python pair, from
    _viper._check's code (4: _viper.FAST is False)."""
    whys = ("object model", "closure layout", "offset beyond 32 bits", "FAST is False")
    return "python: " + whys[why - 1]


def handle_message(slab, h, verb):
    """Why `verb(h)` was refused: wrong type, out of range, or not allocated."""
    if h.__class__ is not int:
        hint = " (alloc() returns None when the slab is empty)" if h is None else ""
        return "%s() takes a block index (int) from alloc(), got %s%s" % (
            verb,
            type(h).__name__,
            hint,
        )
    if not 0 <= h < slab.num_blocks:
        return "%s(%d): no such block; this slab has blocks 0..%d" % (
            verb,
            h,
            slab.num_blocks - 1,
        )
    if slab.checked:
        return "%s(%d): block %d is not allocated (already freed, or never from alloc())" % (
            verb,
            h,
            h,
        )
    return "%s(%d): block %d is already free (double free)" % (verb, h, h)


def unsound(slab, h, st, blk):
    """Why free block h cannot be handed out, judged on copies taken at one
    instant: `st` of the slab's state, `blk` of block h. None if h is not the
    head there, or is sound (the engine read it while a callback changed it)."""
    n = slab.num_blocks
    s = _words(st, 8)
    if s[_HEAD] != h:
        return None
    link = _words(blk, 1, uctypes.UINT32)[0]
    used = s[_USED]
    if used >= n:
        return (
            "free block %d is still on the free list although all %d blocks are allocated: "
            "a block was freed twice, or written after it was freed" % (h, n)
        )
    if link == h:
        what = "links to itself"
    elif link > n:
        what = "links to 0x%08X, not a block index" % link
    elif used + 1 == n and link != n:
        what = "is the last free block (%d of %d in use) but links on to %d" % (used, n, link)
    elif slab.checked and link < n and (st[_BITS + (link >> 3)] >> (link & 7)) & 1:
        what = "links to %d, an allocated block" % link
    else:
        return _poison_lost(slab, h, blk)
    return "free block %d %s: a block was freed twice, or block %d written after it was freed" % (
        h,
        what,
        h,
    )


def _poison_lost(slab, h, blk):
    """checked=True: the first byte of free block h that lost the poison, in words; else None."""
    if slab.checked:
        for k in range(4, len(blk)):
            if blk[k] != 0x3A:
                return "block %d was written after it was freed (byte %d lost the 0x3A poison)" % (
                    h,
                    k,
                )
    return None


def moved_message():
    return (
        "the slab's buffer was resized after MemSlab() was built, and its bytes "
        "moved: the slab is unusable. Never resize a slab's buffer; build a new MemSlab"
    )


def viper_import_error(e):
    """VIPER_ERROR when `from . import _viper` failed with e."""
    why = "import memslab._viper failed: %s: %s" % (type(e).__name__, e)
    if "arch" in str(e):
        why += " (this .mpy was built for another CPU: install the build for your board)"
    return why


def engine_message(engine, why=None):
    """Why MemSlab(engine=engine) was refused: not an engine, or (why) not here."""
    if why is None:
        return "engine must be 'auto', 'viper', 'python' or 'compiled', got %r" % (engine,)
    return "engine=%r is not available: %s; use 'auto' or 'python'" % (engine, why)


def view_free_message(h):
    return "view(%d): block %d is free; alloc() it first" % (h, h)


def wait_needs_threadsafe():
    return (
        "alloc_wait() needs MemSlab(..., threadsafe=True): the waiting thread "
        "and whoever frees share the slab"
    )


def empty_message(verb, n):
    return "%s: all %d blocks are in use; free one, or wait with block_async()" % (verb, n)


def glue_message(e):
    return (
        "alloc_async/block_async need asyncio and memslab/_async.py (%s); a firmware "
        "frozen with include(..., asyncio=False) leaves them out" % e
    )
