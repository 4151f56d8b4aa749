"""memslab's explanations: why a block index or a slab was refused, in words.

Loaded on the first error only: a correct program never pays for these
strings (from a .mpy every string is a heap object, and every name stays in
the interned-string pool). In a hard IRQ the heap is locked, so neither
this import nor the formatting can happen; the slow paths then raise a
prebuilt exception of the same type (memslab._refuse, _errors.LOCKED).
"""

import uctypes

from . import SlabCorruptedError


def refused(slab, exc, h, offset):
    """Why the engine refused: free(h) (exc TypeError or ValueError), or an
    alloc() that found free block h unsound (SlabCorruptedError; offset >= 0:
    byte `offset` of h lost its poison). Raises RuntimeError instead if the
    slab's buffer moved (see _methods._check_not_moved)."""
    if uctypes.addressof(slab._owner) != slab._owner_at:
        raise RuntimeError(moved_message())
    if exc is not SlabCorruptedError:
        return handle_message(slab, h, "free")
    if offset >= 0:
        return poisoned_message(h, offset)
    o = h * slab.block_size  # the link, read as 4 bytes: never a big int in the hot path
    return corrupt_message(slab, h, int.from_bytes(bytes(slab.buffer[o : o + 4]), "little"))


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


def corrupt_message(slab, h, link):
    """Why free block h (whose first word is `link`) cannot be handed out."""
    n = slab.num_blocks
    used = slab.num_used
    if used >= n:
        return (
            "free block %d is still on the free list although all %d blocks are allocated: "
            "a block was freed twice, or written after it was freed" % (h, n)
        )
    if link == h:
        what = "links to itself"
    elif link > n:
        what = "links to 0x%08X, not a block index" % link
    elif used + 1 == n:
        what = "is the last free block (%d of %d in use) but links on to %d" % (used, n, link)
    elif slab.checked and link < n and (slab._st[32 + (link >> 3)] >> (link & 7)) & 1:
        what = "links to %d, an allocated block" % link
    else:
        what = "links to %d" % link
    return "free block %d %s: a block was freed twice, or block %d written after it was freed" % (
        h,
        what,
        h,
    )


def poisoned_message(h, offset):
    return "block %d was written after it was freed (byte %d lost the 0x3A poison)" % (h, offset)


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
