"""memslab's picture of a slab: MemSlab.dump() draws it, loaded only then.

    MemSlab: 8 blocks x 16 bytes, engine=viper, checked
    used 3  free 5  max_used 4
      [0:used]  [1:free->4]  [2:used]  ...
    free list: head -> 1 -> 4 -> ... -> end

Which blocks are free comes from the checked-mode bitmap when there is one
(exact even past a corrupt link), else from walking the free list. Drawing
allocates (strings, one bit per block): never call it from an IRQ handler.
"""

from micropython import const

_HEAD = const(0)  # _layout.HEAD
_POISON_BYTE = 0x3A  # checked mode fills words 1.. of a free block with it
_ROW = 6  # blocks per line


def draw(slab, limit):
    """The picture of `slab`, its first `limit` blocks and links."""
    if limit.__class__ is not int:
        raise TypeError(
            "dump(limit): limit is an int (blocks to draw), got %s" % type(limit).__name__
        )
    if limit < 0:
        raise ValueError("dump(limit=%d): limit is 0 or more (blocks to draw)" % limit)
    n = slab.num_blocks
    walked = bytearray((n + 7) >> 3)  # one bit per block reached by the walk
    chain, more, end = walk(slab, walked, limit)
    lines = [
        "MemSlab: %d blocks x %d bytes, engine=%s%s%s"
        % (
            n,
            slab.block_size,
            slab.engine,
            ", checked" if slab.checked else "",
            ", threadsafe" if slab.threadsafe else "",
        ),
        "used %d  free %d  max_used %d" % (slab.num_used, slab.num_free, slab.max_used),
    ]
    shown = min(n, limit)
    row = []
    for i in range(shown):
        row.append(_cell(slab, i, walked))
        if len(row) == _ROW or i == shown - 1:
            lines.append("  " + "  ".join(row))
            row = []
    if n > limit:
        lines.append("  ... %d more blocks" % (n - limit))
    links = "".join("%d -> " % i for i in chain)
    if more:
        links += "... (%d more) -> " % more
    lines.append("free list: head -> " + links + end)
    return "\n".join(lines)


def _cell(slab, i, walked):
    if slab.checked:
        free = not slab._is_used(i)  # the bitmap is exact, even past a corrupt link
    else:
        free = (walked[i >> 3] >> (i & 7)) & 1
    if not free:
        return "[%d:used]" % i
    nxt = slab._link(i)
    text = "[%d:free->%s" % (i, "end" if nxt == slab.num_blocks else link_text(slab, nxt))
    if slab.checked:
        bad = _broken_poison(slab, i)
        if bad >= 0:
            text += " POISON BROKEN at byte %d" % bad
    return text + "]"


def link_text(slab, nxt):
    """A link as a block index, or in hex when it is no block index at all."""
    return "%d" % nxt if nxt <= slab.num_blocks else "0x%08X" % nxt


def _broken_poison(slab, i):
    """Offset of the first byte of free block i that lost the poison, or -1."""
    o = i * slab.block_size
    buf = slab.buffer
    for k in range(4, slab.block_size):
        if buf[o + k] != _POISON_BYTE:
            return k
    return -1


def walk(slab, walked, limit):
    """Follow the free list, marking each block reached in the bitmap `walked`.

    Returns the first `limit` indices, how many more there are, and how the
    list ends ("end", or what is corrupt about it).
    """
    n = slab.num_blocks
    chain = []
    count = 0
    i = slab._sw[_HEAD]
    while i != n:
        if not 0 <= i < n:
            return chain, count - len(chain), "%s (corrupt link!)" % link_text(slab, i)
        if count >= slab.num_free:
            return chain, count - len(chain), "%d ... (more links than free blocks: corrupt!)" % i
        walked[i >> 3] |= 1 << (i & 7)
        if count < limit:
            chain.append(i)
        count += 1
        i = slab._link(i)
    if count != slab.num_free:  # a link to the end came too early: blocks are lost
        return (
            chain,
            count - len(chain),
            "end after %d of %d free blocks (corrupt!)"
            % (
                count,
                slab.num_free,
            ),
        )
    return chain, count - len(chain), "end"
