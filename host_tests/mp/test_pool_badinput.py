"""MemPool's bad-input catalogue: every bad argument tried and the exception it gets.

ROWS is the table (description, pool setup, call, expected exception type),
as test_badinput.py's is for a slab: each row runs on a fresh pool, must
raise its type and leave the pool as it was (counts and peaks, buffer bytes,
every class's state words). tools/catalogue.py prints the rows, with the
messages, as the MemPool table in docs/readme-badinput.md.

Setups: "pool" = MemPool(((16, 4), (64, 2), (256, 1))) with handles 0 and 4
allocated and 1 freed last (class 0's free-list head); "checked" = the same
with checked=True.
"""

import sys

if ".frozen" not in sys.path:  # a MICROPYPATH hides the frozen asyncio of the Unix port
    sys.path.append(".frozen")

import asyncio

import mptest
from memslab import MemPool
from mptest import eq

CLASSES = ((16, 4), (64, 2), (256, 1))
BIG = 2**70


def ctor(*args, **kw):
    kw.setdefault("engine", mptest.ENGINE)
    return MemPool(*args, **kw)


def busy(checked=False):
    p = ctor(CLASSES, checked=checked)
    p.alloc(10)
    h = p.alloc(10)
    p.alloc(40)
    p.free(h)
    return p


SETUPS = {"pool": busy, "checked": lambda: busy(True)}


def state(p):
    """Everything a rejected call must leave as it was."""
    return (
        p.num_used,
        p.max_used,
        list(p._st[:10]),
        bytes(p.buffer),
        tuple(mptest.state(s) for s in p.slabs),
    )


def wait(p, *args):
    return asyncio.run(p.alloc_async(*args))


ROWS = [
    # -- constructor: MemPool(classes, buffer=None, *, engine, checked, threadsafe)
    ("MemPool(5)", "pool", lambda p: ctor(5), TypeError),
    ("MemPool(())", "pool", lambda p: ctor(()), ValueError),
    ("MemPool(((16,),))", "pool", lambda p: ctor(((16,),)), TypeError),
    ("MemPool(((16.0, 4),))", "pool", lambda p: ctor(((16.0, 4),)), TypeError),
    ("MemPool(((10, 4),))", "pool", lambda p: ctor(((10, 4),)), ValueError),
    ("MemPool(((16, 0),))", "pool", lambda p: ctor(((16, 0),)), ValueError),
    ("MemPool(((16, 4), (16, 2)))", "pool", lambda p: ctor(((16, 4), (16, 2))), ValueError),
    (
        "MemPool(classes, bytearray(100))",
        "pool",
        lambda p: ctor(CLASSES, bytearray(100)),
        ValueError,
    ),
    ("MemPool(classes, bytes(448))", "pool", lambda p: ctor(CLASSES, bytes(448)), ValueError),
    ("MemPool(classes, engine='c')", "pool", lambda p: MemPool(CLASSES, engine="c"), ValueError),
    # -- alloc(n)
    ("alloc(None)", "pool", lambda p: p.alloc(None), TypeError),
    ("alloc(1.5)", "pool", lambda p: p.alloc(1.5), TypeError),
    ("alloc(True)", "pool", lambda p: p.alloc(True), TypeError),
    ("alloc('8')", "pool", lambda p: p.alloc("8"), TypeError),
    ("alloc(-1)", "pool", lambda p: p.alloc(-1), ValueError),
    ("alloc(257) (past the largest class)", "pool", lambda p: p.alloc(257), ValueError),
    ("alloc(2**31)", "pool", lambda p: p.alloc(2**31), ValueError),
    ("alloc(2**70)", "pool", lambda p: p.alloc(BIG), ValueError),
    ("alloc()", "pool", lambda p: p.alloc(), TypeError),
    ("alloc(8, 2)", "pool", lambda p: p.alloc(8, 2), TypeError),
    # -- free(h)
    ("free(None)", "pool", lambda p: p.free(None), TypeError),
    ("free('1')", "pool", lambda p: p.free("1"), TypeError),
    ("free(0.0)", "pool", lambda p: p.free(0.0), TypeError),
    ("free(True)", "pool", lambda p: p.free(True), TypeError),
    ("free(-1)", "pool", lambda p: p.free(-1), ValueError),
    ("free(7) (== num_blocks)", "pool", lambda p: p.free(7), ValueError),
    ("free(2**31)", "pool", lambda p: p.free(2**31), ValueError),
    ("free(2**70)", "pool", lambda p: p.free(BIG), ValueError),
    ("free(1), 1 freed last (its class's head)", "pool", lambda p: p.free(1), ValueError),
    ("free(6), nothing allocated in its class", "pool", lambda p: p.free(6), ValueError),
    ("free()", "pool", lambda p: p.free(), TypeError),
    ("free(0, 2)", "pool", lambda p: p.free(0, 2), TypeError),
    ("checked: free(3), never allocated", "checked", lambda p: p.free(3), ValueError),
    ("checked: free(5), never allocated", "checked", lambda p: p.free(5), ValueError),
    # -- the rest
    ("view(7)", "pool", lambda p: p.view(7), ValueError),
    ("view(None)", "pool", lambda p: p.view(None), TypeError),
    ("checked: view(1), a free block", "checked", lambda p: p.view(1), ValueError),
    ("size_of(-1)", "pool", lambda p: p.size_of(-1), ValueError),
    ("addressof('0')", "pool", lambda p: p.addressof("0"), TypeError),
    ("block(300)", "pool", lambda p: p.block(300), ValueError),
    ("block(None)", "pool", lambda p: p.block(None), TypeError),
    (
        "block(256), that class full",
        "pool",
        lambda p: (p.alloc(256), p.block(256).__enter__()),
        MemoryError,
    ),
    ("alloc_async(300)", "pool", lambda p: p.alloc_async(300), ValueError),
    ("alloc_async(1.5)", "pool", lambda p: p.alloc_async(1.5), TypeError),
    ("alloc_async(16, 'x')", "pool", lambda p: p.alloc_async(16, "x"), TypeError),
    ("alloc_async(16, 2**29)", "pool", lambda p: wait(p, 16, 2**29), ValueError),
    ("block_async(-1)", "pool", lambda p: p.block_async(-1), ValueError),
    ("dump(-1)", "pool", lambda p: p.dump(-1), ValueError),
    ("dump('x')", "pool", lambda p: p.dump("x"), TypeError),
]


def _expected_state(desc, p):
    if desc.startswith("block(256), that class full"):
        return None  # its first alloc(256) is a good call; checked after
    return state(p)


def run_row(row):
    """Run one row on a fresh pool; return the exception (or raise AssertionError)."""
    desc, setup, call, exc_type = row
    p = SETUPS[setup]()
    before = _expected_state(desc, p)
    try:
        call(p)
    except Exception as e:  # noqa: BLE001 - the type is checked below
        got = e
    else:
        raise AssertionError("%s: no exception" % desc)
    if not isinstance(got, exc_type):
        raise AssertionError(
            "%s: %s(%s), want %s" % (desc, got.__class__.__name__, got, exc_type.__name__)
        )
    if before is None:
        eq(p.used(), [0, 4, 6], desc + ": only the good alloc(256) took a block")
    elif state(p) != before:
        raise AssertionError(desc + ": the pool changed")
    return got


def test_every_row_raises_its_type_and_changes_nothing():
    failures = []
    for row in ROWS:
        try:
            run_row(row)
        except AssertionError as e:
            failures.append(str(e))
    if failures:
        raise AssertionError("%d rows:\n  %s" % (len(failures), "\n  ".join(failures)))


def test_the_pool_still_works_after_every_row():
    for row in ROWS:
        p = SETUPS[row[1]]()
        try:
            row[2](p)
        except Exception:  # noqa: BLE001, S110 - the previous test checks the type
            pass
        got = []
        for n in (10, 10, 10, 40, 40, 200, 200, 10):
            h = p.alloc(n)
            if h is not None:
                got.append(h)
        eq(len(set(got)), len(got), row[0] + ": a block handed out twice")
        eq(p.num_used, 7, row[0] + ": every block in use")


def catalogue():
    """Print one tab-separated line per row: description, setup, exception, message."""
    for row in ROWS:
        e = run_row(row)
        msg = str(e).replace("\n", " ").replace("|", "\\|")
        print("\t".join((row[0], row[1], e.__class__.__name__, msg)))
