"""MemPool's picture: pool.dump() draws every class in pool handles.

    MemPool: 3 classes, 7 blocks, engine=viper
    used 1  free 6  max_used 1
    class 1: 2 blocks x 64 bytes, handles 4..5, used 1  max_used 1
      [4:used]  [5:free->end]
      free list: head -> 5 -> end

Loaded only when drawn; the free-list walk is the slab's (_picture.py).
"""

from micropython import const

_ROW = const(6)  # blocks per line


def dump(pool, limit):
    """MemPool.dump(): each class's blocks and free list, in pool handles."""
    from . import _picture

    if limit.__class__ is not int or limit < 0:
        _picture.draw(pool.slabs[0], limit)  # raises the slab's error: limit is 0 or more
    flags = ", checked" if pool.checked else ""
    if pool.threadsafe:
        flags += ", threadsafe"
    lines = [
        "MemPool: %d classes, %d blocks, engine=%s%s"
        % (len(pool.slabs), pool.num_blocks, pool.engine, flags),
        "used %d  free %d  max_used %d" % (pool.num_used, pool.num_free, pool.max_used),
    ]
    for c in range(len(pool.slabs)):
        _class_lines(lines, pool, c, limit, _picture)
    return "\n".join(lines)


def _class_lines(lines, pool, c, limit, pic):
    s = pool.slabs[c]
    f = pool.first[c]
    n = s.num_blocks
    lines.append(
        "class %d: %d blocks x %d bytes, handles %d..%d, used %d  max_used %d"
        % (c, n, s.block_size, f, f + n - 1, s.num_used, s.max_used)
    )
    walked = bytearray((n + 7) >> 3)
    chain, more, end = pic.walk(s, walked, limit)
    row = []
    shown = min(n, limit)
    for i in range(shown):
        row.append(_cell(s, i, f, walked, pic))
        if len(row) == _ROW or i == shown - 1:
            lines.append("  " + "  ".join(row))
            row = []
    if n > limit:
        lines.append("  ... %d more blocks" % (n - limit))
    links = "".join("%d -> " % (f + i) for i in chain)
    if more:
        links += "... (%d more) -> " % more
    if end != "end":  # a broken list: the slab's own words, in the class's numbers
        end = "(in class %d's numbers) %s" % (c, end)
    lines.append("  free list: head -> " + links + end)


def _cell(s, i, f, walked, pic):
    free = not s._is_used(i) if s.checked else (walked[i >> 3] >> (i & 7)) & 1
    if not free:
        return "[%d:used]" % (f + i)
    nxt = s._link(i)
    if nxt == s.num_blocks:
        to = "end"
    elif nxt < s.num_blocks:
        to = "%d" % (f + nxt)
    else:
        to = pic.link_text(s, nxt)
    text = "[%d:free->%s" % (f + i, to)
    if s.checked:
        bad = pic._broken_poison(s, i)
        if bad >= 0:
            text += " POISON BROKEN at byte %d" % bad
    return text + "]"
