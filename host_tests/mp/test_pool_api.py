"""MemPool's slab-like API: dump, max_used, used, views, block, engine, messages, threads."""

import micropython
import uctypes

import memslab
import mptest
from mptest import eq, raises

CLASSES = (
    (16, 4),
    (64, 2),
    (256, 1),
)  # as in test_pool.py (not imported: a 64K heap compiles one module at a time)


def pool(classes=CLASSES, **kw):
    kw.setdefault("engine", mptest.ENGINE)
    return memslab.MemPool(classes, **kw)


def test_dump_speaks_in_pool_handles():
    for checked in (False, True):
        p = pool(checked=checked)
        eq(p.alloc(40), 4, "the first 64-byte block")
        d = p.dump()
        # class 1's blocks are handles 4 and 5: 4 is used, 5 free and the list's end
        for part in ("[4:used]", "[5:free->end]", "head -> 5 -> end", "[0:free->1]"):
            if part not in d:
                raise AssertionError("checked=%s: dump lacks %r:\n%s" % (checked, part, d))
        if "[0:used]" in d:
            raise AssertionError("handle 4 drawn in its class's numbers:\n" + d)


def test_max_used_is_the_pool_wide_peak():
    # Class 0 peaks at 2 blocks, then class 1 at 2: never 4 at once, nor
    # 2 * 16 + 2 * 64 bytes (the sum of the classes' own peaks).
    for checked in (False, True):
        p = pool(checked=checked)
        a, b = p.alloc(10), p.alloc(10)
        p.free(a)
        p.free(b)
        a, b = p.alloc(60), p.alloc(60)
        st = p.stats()
        eq((p.max_used, st["max_used"]), (2, 2), "blocks, checked=%s" % checked)
        eq(st["max_allocated_bytes"], 2 * 64, "bytes, checked=%s" % checked)
        eq([c["max_used"] for c in st["classes"]], [2, 2, 0], "each class keeps its own peak")
        p.free(a)
        c = p.alloc(200)
        eq(p.stats()["max_allocated_bytes"], 64 + 256, "a larger mix of bytes")
        eq(p.max_used, 2, "but no more blocks at once")
        p.reset_max()
        eq((p.max_used, p.stats()["max_allocated_bytes"]), (2, 64 + 256), "reset_max: now")
        p.free(b)
        p.free(c)
        p.reset_max()
        eq((p.max_used, p.stats()["max_allocated_bytes"]), (0, 0), "reset_max when empty")
        eq([s.max_used for s in p.slabs], [0, 0, 0], "and every class's")


def test_used_lists_pool_handles():
    for checked in (False, True):
        p = pool(checked=checked)
        got = [p.alloc(n) for n in (200, 60, 10, 10)]
        eq(got, [6, 4, 0, 1], "handles")
        p.free(0)
        eq(p.used(), [1, 4, 6], "ascending, in pool handles")


def test_views_are_indexed_by_handle_and_free_to_index():
    p = pool()
    vs = p.views()
    eq(len(vs), p.num_blocks, "one view per handle")
    eq([len(v) for v in vs], [16, 16, 16, 16, 64, 64, 256], "each its class's size")
    if p.views() is not vs:
        raise AssertionError("views() is built once")
    got = [None]
    micropython.heap_lock()
    try:
        h = p.alloc(40)
        vs = p.views()
        vs[h][0] = 0xAB  # what a hard IRQ handler may do
        vs[h][63] = 0xCD
        got[0] = h
    finally:
        micropython.heap_unlock()
    h = got[0]
    eq((p.view(h)[0], p.view(h)[63]), (0xAB, 0xCD), "the same bytes as view(h)")
    eq(uctypes.addressof(vs[h]), p.addressof(h), "at addressof(h)")


def test_block_frees_what_it_took():
    p = pool()
    with p.block(40) as h:
        eq((h, p.num_used), (4, 1), "a 64-byte block inside")
    eq(p.num_used, 0, "freed on exit")
    try:
        with p.block(200) as h:
            raise KeyError("boom")
    except KeyError:
        pass
    eq(p.num_used, 0, "freed on an exception too")
    held = [p.alloc(200)]
    raises(memslab.SlabEmptyError, p.block(200).__enter__)
    b = p.block(10)
    with b as h:
        e = raises(RuntimeError, b.__enter__)
        if "block(10)" not in str(e):
            raise AssertionError(str(e))
        eq(p.num_used, 2, "the refused nested use took nothing")
    eq(p.num_used, 1, "the outer block freed, once")
    with b as h2:  # a block object may be used again, one block at a time
        eq(h2, h, "LIFO")
    p.free(held[0])
    eq(p.num_used, 0, "all back")


def test_engine_is_the_classes_engine():
    p = pool()
    eq(p.engine, p.slabs[0].engine, "engine")
    if mptest.ENGINE != "compiled":
        eq(p.engine, mptest.ENGINE, "the engine asked for")
    if "engine=%s" % p.engine not in repr(p):
        raise AssertionError(repr(p))


def test_a_threadsafe_pool_and_its_classes_share_one_guard():
    # The pool's pair works on every class's state: a class's own lock would
    # not keep a thread in pool.alloc() out of a class's alloc() (its waiters
    # call that), so all of them take one lock (one IRQ mask on a board).
    p = pool(threadsafe=True)
    enter, exit = p.slabs[0]._section
    for s in p.slabs:
        if s._section[0] is not enter or s._section[1] is not exit:
            raise AssertionError("each class has a guard of its own")
    eq([s.threadsafe for s in p.slabs], [True, True, True], "every class is threadsafe")


def test_threads_share_a_threadsafe_pool():
    _thread = mptest.thread_or_skip()
    import time

    p = pool(threadsafe=True)
    done = []

    def worker(k):
        for i in range(300):
            h = p.alloc((i * 7 + k) % 257)
            if h is not None:
                p.free(h)
            s = p.slabs[i % 3]  # a class used directly, as its waiters do
            g = s.alloc()
            if g is not None:
                s.free(g)
        done.append(k)

    for k in range(2):
        _thread.start_new_thread(worker, (k,))
    for _ in range(200000):  # bounded; no clock decides the outcome
        if len(done) == 2:
            break
        time.sleep_ms(1)
    eq(sorted(done), [0, 1], "both threads finished")
    eq((p.num_used, p.used()), (0, []), "nothing lost, nothing doubled")
    eq(sorted(p.alloc(10) for _ in range(4)), [0, 1, 2, 3], "class 0's list is whole")
    eq(p.alloc(10) in (4, 5), True, "and ends there (then a 64-byte block)")


def test_errors_name_the_call():
    p = pool()
    for call, args, exc, words in (
        (p.free, (7,), ValueError, "MemPool.free(7): no such block"),
        (p.free, (None,), TypeError, "MemPool.free(h)"),
        (p.free, (1,), ValueError, "MemPool.free(1): that 16-byte block is not allocated"),
        (p.alloc, (300,), ValueError, "MemPool.alloc(300): n is 0..256"),
        (p.alloc, ("1",), TypeError, "MemPool.alloc(n): n is an int number of bytes, got str"),
        (p.alloc_async, (300,), ValueError, "MemPool.alloc_async(300): n is 0..256"),
        (p.alloc_async, (1.5,), TypeError, "MemPool.alloc_async(n)"),
        (p.block_async, (300,), ValueError, "MemPool.block_async(300)"),
        (p.block, (300,), ValueError, "MemPool.block(300)"),
        (p.view, (9,), ValueError, "MemPool.view(9): no such block"),
        (p.addressof, (-1,), ValueError, "MemPool.addressof(-1)"),
        (p.size_of, (None,), TypeError, "MemPool.size_of(h)"),
    ):
        e = raises(exc, call, *args)
        if words not in str(e):
            raise AssertionError("%r: %s" % (words, e))


def test_free_without_a_handle_says_what_to_pass():
    # The python pair's free(h) has a default, so the call reaches our check.
    # The machine-code pair cannot (viper functions take no defaults): the
    # runtime's own TypeError, which counts the closure's 3 cells as arguments.
    p = pool()
    before = (p.num_used, bytes(p.buffer))
    e = raises(TypeError, p.free)
    if p._st.__class__ is list and "pass the handle that alloc() returned" not in str(e):
        raise AssertionError(str(e))
    eq((p.num_used, bytes(p.buffer)), before, "nothing changed")


# From test_pool.py: a pool's dump() beside the pool and the engines no longer
# fits the x64 64K heap of the small-heap variants (a 320-byte block was missing).
def test_stats_and_dump():
    p = pool()
    p.alloc(10)
    p.alloc(100)
    st = p.stats()
    eq(
        (st["num_used"], st["num_free"], st["allocated_bytes"], st["free_bytes"]),
        (2, 5, 16 + 256, 16 * 3 + 64 * 2),
        "totals",
    )
    eq([c["num_used"] for c in st["classes"]], [1, 0, 1], "per class")
    d = p.dump()
    for part in ("3 classes", "class 1: 2 blocks x 64 bytes, handles 4..5", "[6:used]"):
        if part not in d:
            raise AssertionError("dump lacks %r:\n%s" % (part, d))
    if "MemPool" not in repr(p):
        raise AssertionError(repr(p))
