"""Building a MemPool: the checks, the classes' slabs, the state, the pair.

Loaded by MemPool() and dropped again when the pool is built (a pool is
built once; its code need not stay on the heap).
"""

import uctypes
from array import array
from micropython import const

from . import MemSlab
from ._buffer import check_buffer

# The pool's state words (_poolviper.py)
_TOP = const(0)
_NH = const(1)
_END = const(2)
_LAST = const(3)
_CELL = const(4)
_HI = const(5)
_T = const(6)
_TB = const(7)
_PEAK = const(8)
_PEAKB = const(9)
_W64 = const(10)
_REC = const(12)
_RW = const(4)
_FIRST = const(1)  # words of a class record
_ST = const(2)
_BLOCKS = const(3)
_HEAD = const(0)  # words of a class's slab state (_layout.py)
_USED = const(1)
_MAX = const(2)


def build(pool, classes, buffer, engine, checked, threadsafe):
    """MemPool.__init__: every argument checked before anything is touched."""
    classes = _check_classes(classes)
    total = 0
    for bs, n in classes:
        total += bs * n
    owner = buffer
    if buffer is None:
        owner = buffer = bytearray(total)
    else:
        buffer = _check_pool_buffer(buffer, total)
    mv = memoryview(buffer)
    at = uctypes.addressof(owner)
    lock = _shared_lock() if threadsafe else None
    slabs = []
    first = []
    o = blocks = 0
    for bs, n in classes:  # one slab per class, each over its part of the buffer
        s = MemSlab(bs, n, mv[o : o + bs * n], engine=engine, checked=checked)
        # The slab checks the pool's bytes for a move, not its slice (a
        # memoryview's pointer never moves, so it would never see one).
        s._owner = owner
        s._owner_at = at
        if threadsafe:
            _guard(s, lock)
        slabs.append(s)
        first.append(blocks)
        o += bs * n
        blocks += n
    pool.slabs = tuple(slabs)
    pool.sizes = tuple(bs for bs, _ in classes)
    pool.first = tuple(first)
    pool.num_blocks = blocks
    pool.buffer = buffer
    pool._owner = owner
    pool._owner_at = at
    if slabs[0].engine != "viper":
        pool.engine = slabs[0].engine
    if checked:
        pool.checked = True
    if threadsafe:
        pool.threadsafe = True
    # The machine code serves the default mode; checked=True (for debugging)
    # gets the python pair over the classes' checked viper pairs.
    pair = _fast(pool) if slabs[0].engine != "python" and not checked else None
    if pair is None:  # the python pair; its counts in a list (quicker than an array)
        from . import _poolpython

        pool._st = [0] * _REC
        pair = _poolpython.pair(pool)
    elif threadsafe:  # the machine code works on every class: one guard around it
        from . import _guard as g

        # guarded() wraps a no-argument alloc: the pool's takes n, as a free does
        pair = g.guarded(0, pair[0], lock)[1], g.guarded(0, pair[1], lock)[1]
    # Set on the instance, as MemSlab does: the class's methods only document them.
    pool.alloc, pool.free = pair


def _fast(pool):
    """The pair in machine code for this pool, or None if any check fails:
    the object model and closure layout the box trick needs (_viper.py), every
    address within the state's 4 GB (64-bit ports), and a trial run."""
    from . import _poolviper, _viper

    w = _viper.word_size()
    if not w or not _viper.FAST:  # FAST = False: the tests of the fallback
        return None

    n = len(pool.slabs)
    pool._st = st = array("I", bytes(4 * (_REC + _RW * n)))
    st[_TOP] = pool.sizes[-1]
    st[_NH] = pool.num_blocks
    st[_END] = _REC + _RW * n
    st[_LAST] = _REC + _RW * (n - 1)
    st[_W64] = 1 if w == 8 else 0
    a = uctypes.addressof(st)
    pair = _checked(pool, st, a, w, _poolviper.pair)
    if pair is None and _poolviper.RECOMPILED is None and _recompiled(_poolviper):
        pair = _checked(pool, st, a, w, _poolviper.pair)
    return pair


def _recompiled(mod):
    """Compile the pool's pair again from source (_vipersrc.POOL), for this
    pool and every later one, where the loaded machine code failed its trial:
    frozen ARMv6-M code the freezer misplaced (see _selfcheck.recompile).
    Tried once; True if it compiled, and mod.RECOMPILED says what happened.
    Costs the compile and the new machine code's heap (README, "Frozen
    firmware")."""
    try:
        from . import _vipersrc
    except Exception as e:  # noqa: BLE001 - no memory: the python pair
        mod.RECOMPILED = "no _vipersrc: %s: %s" % (type(e).__name__, e)
        return False
    return _vipersrc.recompile(mod, "POOL")


def _checked(pool, st, a, w, make):
    """make(pool, a)'s pair, if it passes every check and its trial; else None."""
    from . import _viper

    n = len(pool.slabs)
    alloc, free = make(pool, a)
    box = _viper.find_box(alloc, free, w)
    if box is None:
        return None
    at = [box]
    for s in pool.slabs:
        at += [uctypes.addressof(s._st), uctypes.addressof(s.buffer)]
    for x in at:
        if (x ^ a) >> 32:  # only a 64-bit port can see this: not all in one 4 GB
            return None
    m = 0xFFFFFFFF
    st[_HI] = a >> 32  # 0 on a 32-bit board
    st[_CELL] = box & m
    r = _REC
    for c in range(n):
        st[r] = pool.sizes[c]
        st[r + _FIRST] = pool.first[c]
        st[r + _ST] = at[1 + 2 * c] & m
        st[r + _BLOCKS] = at[2 + 2 * c] & m
        r += _RW
    return (alloc, free) if _tried(pool, st, alloc, free, _viper.build) else None


def _tried(pool, st, alloc, free, build):
    """Run the pair once on the new pool: True if it did what the python pair
    does. The slow paths are stand-ins that note what reached them (nothing
    is formatted, no message module loaded); the pool is made new again after.

    Guards against machine code that runs but computes wrong (see
    _selfcheck.py: frozen viper code misplaced by the freezer)."""
    last = len(pool.slabs) - 1
    top = st[_TOP]
    slow = []
    pool._alloc_slow = pool._free_slow = lambda x: slow.append(x)  # (instance attributes)
    try:
        ok = True
        for n, h in ((0, 0), (top, pool.first[last])):
            ok = ok and alloc(n) == h and pool.num_used == 1 and st[_T] == 1
            free(h)
        ok = ok and st[_PEAK] == 1 and st[_PEAKB] == pool.sizes[last] and st[_T] == 0
        bad = [None, -1, 1 << 31, top + 1, True]
        for x in bad:
            alloc(x)
        bad += [0, None, pool.num_blocks, -1]  # 0: a free block (the head of class 0)
        for x in bad[5:]:
            free(x)
        ok = ok and slow == bad and pool.num_used == 0
        for call in (lambda: alloc(), lambda: free(0, 1)):  # the argument count is checked
            try:
                call()
                ok = False
            except TypeError:
                pass
    except Exception:  # noqa: BLE001 - a wrong pair may raise anything: refuse it
        ok = False
    del pool._alloc_slow, pool._free_slow  # the methods again
    for s in pool.slabs:  # new again, whatever the trial did
        s._sw[_HEAD] = s._sw[_USED] = s._sw[_MAX] = 0
        build(s._st, s.buffer, s.checked)
    st[_T] = st[_TB] = st[_PEAK] = st[_PEAKB] = 0
    return ok


def _shared_lock():
    """The Unix port's lock for a threadsafe pool's classes and pair; None on a
    board (one IRQ mask serves all) or a port without threads."""
    from . import _guard as g

    return g._lock() if g.disable_irq is None and g._thread is not None else None


def _guard(slab, lock):
    """Make a slab threadsafe with the pool's lock, as MemSlab(threadsafe=True)
    makes it with its own: the pool's pair works on every class's state, so it
    and each class must exclude each other (a lock per class would not)."""
    from . import _guard as g

    slab.threadsafe = True
    slab._free_raw = slab.free
    slab.alloc, slab.free, slab._section = g.guarded(slab.alloc, slab.free, lock)


def _check_pool_buffer(buffer, total):
    try:
        return check_buffer(buffer, total, total, 1)
    except ValueError as e:
        if "holds" not in str(e):
            raise
        raise ValueError(
            "MemPool(classes, buffer): the classes need %d bytes, the buffer holds fewer; "
            "pass a larger buffer (%s)" % (total, str(e).split(" but ")[0])
        )


def _check_classes(classes):
    """((block_size, num_blocks), ...) -> a list sorted by block_size; errors say what to fix."""
    try:
        classes = [tuple(c) for c in classes]
    except TypeError:
        raise TypeError(
            "MemPool(classes): a tuple of (block_size, num_blocks) pairs, e.g. ((16, 32), (64, 8))"
        )
    if not classes:
        raise ValueError("MemPool(classes): at least one (block_size, num_blocks) class")
    for c in classes:
        if len(c) != 2:
            raise TypeError(
                "MemPool(classes): each class is (block_size, num_blocks), got %r" % (c,)
            )
        bs, n = c  # every class checked before any buffer is touched: MemSlab's
        # test (its __init__), then _errors, only if it fails, for the words
        if not (
            bs.__class__ is int
            and n.__class__ is int
            and bs >= 4
            and not bs & 3
            and n > 0
            and not n >> 30
            and not (bs * n) >> 31
        ):
            from ._errors import check_geometry

            check_geometry(bs, n)
    classes.sort()
    for i in range(1, len(classes)):
        if classes[i][0] == classes[i - 1][0]:
            raise ValueError(
                "MemPool(classes): two classes of %d-byte blocks; merge them" % classes[i][0]
            )
    return classes
