"""The bad-input catalogue: every bad argument tried and the exception it gets.

ROWS is the table (description, slab setup, call, expected exception type).
test_every_row runs each row on a fresh slab and checks the exception type
and that state(s) (counters, buffer bytes, state words, waiter count) is
unchanged. tools/catalogue.py prints the same rows, with the messages,
as the Markdown table in docs/readme-badinput.md.

Setups: "busy" = 4 blocks of 16 bytes, blocks 0 and 2 allocated, 1 freed
last (the head), 3 never allocated; "full" = 2 blocks, both allocated;
"checked" = "busy" with checked=True; "queued" = "busy" with a BlockQueue
(s.q) holding block 0; "queued checked" = "checked" with the same queue.

Not errors, on purpose (documented in docs/readme-badinput.md):
- alloc_async(timeout_ms <= 0), any int incl. -1 and -2**70: no wait, same as alloc()
- checked="yes", threadsafe=1: any truthy value switches the mode on
- an array('i') buffer: used through its bytes
"""

import asyncio
from array import array

import mptest
from memslab import BlockQueue, MemSlab
from mptest import eq, state


def ctor(*args, **kw):
    kw.setdefault("engine", mptest.ENGINE)
    return MemSlab(*args, **kw)


def busy(checked=False):
    s = mptest.slab(16, 4, checked=checked)
    s.alloc()
    b = s.alloc()
    s.alloc()
    s.free(b)
    return s


def full():
    s = mptest.slab(16, 2)
    s.alloc()
    s.alloc()
    return s


def queued(checked=False):
    s = busy(checked)
    s.q = BlockQueue(s)
    s.q.put(0)
    return s


SETUPS = {
    "busy": busy,
    "full": full,
    "checked": lambda: busy(True),
    "queued": queued,
    "queued checked": lambda: queued(True),
}


def wait(s, t):
    return asyncio.run(s.alloc_async(t))


def qwait(s, t):
    return asyncio.run(s.q.get_async(t))


BIG = 2**70

ROWS = [
    # -- constructor: MemSlab(block_size, num_blocks, buffer=None, *, engine, checked, threadsafe)
    ("MemSlab(16.0, 4)", "busy", lambda s: ctor(16.0, 4), TypeError),
    ("MemSlab(True, 4)", "busy", lambda s: ctor(True, 4), TypeError),
    ("MemSlab('16', 4)", "busy", lambda s: ctor("16", 4), TypeError),
    ("MemSlab(16, None)", "busy", lambda s: ctor(16, None), TypeError),
    ("MemSlab(16, True)", "busy", lambda s: ctor(16, True), TypeError),
    ("MemSlab(0, 4)", "busy", lambda s: ctor(0, 4), ValueError),
    ("MemSlab(2, 4)", "busy", lambda s: ctor(2, 4), ValueError),
    ("MemSlab(6, 4)", "busy", lambda s: ctor(6, 4), ValueError),
    ("MemSlab(-4, 4)", "busy", lambda s: ctor(-4, 4), ValueError),
    ("MemSlab(2**70, 4)", "busy", lambda s: ctor(BIG, 4), MemoryError),
    ("MemSlab(2**31, 1)", "busy", lambda s: ctor(2**31, 1), MemoryError),
    ("MemSlab(64, 2**28)", "busy", lambda s: ctor(64, 2**28), MemoryError),
    ("MemSlab(4, 2**30 - 1)", "busy", lambda s: ctor(4, 2**30 - 1), MemoryError),
    ("MemSlab(16, 0)", "busy", lambda s: ctor(16, 0), ValueError),
    ("MemSlab(16, -1)", "busy", lambda s: ctor(16, -1), ValueError),
    ("MemSlab(16, 2**30)", "busy", lambda s: ctor(16, 2**30), ValueError),
    ("MemSlab(16, 2**70)", "busy", lambda s: ctor(16, BIG), ValueError),
    ("MemSlab(16)", "busy", lambda s: ctor(16), TypeError),
    ("MemSlab(16, 4, None, True)", "busy", lambda s: ctor(16, 4, None, True), TypeError),
    ("MemSlab(16, 4, bogus=1)", "busy", lambda s: ctor(16, 4, bogus=1), TypeError),
    ("MemSlab(16, 4, engine='c')", "busy", lambda s: MemSlab(16, 4, engine="c"), ValueError),
    ("MemSlab(16, 4, engine=None)", "busy", lambda s: MemSlab(16, 4, engine=None), ValueError),
    # -- buffer=
    ("buffer=12", "busy", lambda s: ctor(16, 4, 12), TypeError),
    ("buffer=[0] * 64 (a list)", "busy", lambda s: ctor(16, 4, [0] * 64), TypeError),
    ("buffer=bytes(64)", "busy", lambda s: ctor(16, 4, bytes(64)), ValueError),
    (
        "buffer=memoryview(bytes(64))",
        "busy",
        lambda s: ctor(16, 4, memoryview(bytes(64))),
        ValueError,
    ),
    ("buffer='x' * 64 (a str)", "busy", lambda s: ctor(16, 4, "x" * 64), ValueError),
    ("buffer=bytearray(0)", "busy", lambda s: ctor(16, 4, bytearray(0)), ValueError),
    ("buffer=bytearray(63)", "busy", lambda s: ctor(16, 4, bytearray(63)), ValueError),
    (
        "buffer=array('b', 63 zeros)",
        "busy",
        lambda s: ctor(16, 4, array("b", bytes(63))),
        ValueError,
    ),
    (
        "buffer=memoryview(bytearray(65))[1:] (unaligned)",
        "busy",
        lambda s: ctor(16, 4, memoryview(bytearray(65))[1:]),
        ValueError,
    ),
    (
        "buffer=another slab's buffer, too small",
        "busy",
        lambda s: ctor(16, 5, s.buffer),
        ValueError,
    ),
    # -- free(h)
    ("free(None)", "busy", lambda s: s.free(None), TypeError),
    ("free('1')", "busy", lambda s: s.free("1"), TypeError),
    ("free(0.0)", "busy", lambda s: s.free(0.0), TypeError),
    ("free(True)", "busy", lambda s: s.free(True), TypeError),
    ("free(b'\\x00')", "busy", lambda s: s.free(b"\x00"), TypeError),
    ("free([0])", "busy", lambda s: s.free([0]), TypeError),
    ("free()", "busy", lambda s: s.free(), TypeError),
    ("free(0, 2)", "busy", lambda s: s.free(0, 2), TypeError),
    ("free(-1)", "busy", lambda s: s.free(-1), ValueError),
    ("free(4) (== num_blocks)", "busy", lambda s: s.free(4), ValueError),
    ("free(2**31)", "busy", lambda s: s.free(2**31), ValueError),
    ("free(-2**31)", "busy", lambda s: s.free(-(2**31)), ValueError),
    ("free(2**64 + 1)", "busy", lambda s: s.free(2**64 + 1), ValueError),
    ("free(-2**70)", "busy", lambda s: s.free(-BIG), ValueError),
    ("free(1), 1 freed last (the head)", "busy", lambda s: s.free(1), ValueError),
    (
        "free(0) with nothing allocated",
        "full",
        lambda s: (s.free(0), s.free(1), s.free(0)),
        ValueError,
    ),
    ("checked: free(3), never allocated", "checked", lambda s: s.free(3), ValueError),
    ("checked: free(1), already free", "checked", lambda s: s.free(1), ValueError),
    # -- view(h)
    ("view(None)", "busy", lambda s: s.view(None), TypeError),
    ("view(1.0)", "busy", lambda s: s.view(1.0), TypeError),
    ("view(True)", "busy", lambda s: s.view(True), TypeError),
    ("view(-1)", "busy", lambda s: s.view(-1), ValueError),
    ("view(4)", "busy", lambda s: s.view(4), ValueError),
    ("view(2**70)", "busy", lambda s: s.view(BIG), ValueError),
    ("checked: view(3), a free block", "checked", lambda s: s.view(3), ValueError),
    # -- await alloc_async(timeout_ms), on a full slab
    ("alloc_async('x')", "full", lambda s: wait(s, "x"), TypeError),
    ("alloc_async(b'x')", "full", lambda s: wait(s, b"x"), TypeError),
    ("alloc_async([1])", "full", lambda s: wait(s, [1]), TypeError),
    ("alloc_async(1.5)", "full", lambda s: wait(s, 1.5), TypeError),
    ("alloc_async(1.0)", "full", lambda s: wait(s, 1.0), TypeError),
    ("alloc_async(True)", "full", lambda s: wait(s, True), TypeError),
    ("alloc_async(2**70)", "full", lambda s: wait(s, BIG), ValueError),
    ("alloc_async(2**29) (past the ticks range)", "full", lambda s: wait(s, 2**29), ValueError),
    ("alloc_async('10'), a block free", "busy", lambda s: wait(s, "10"), TypeError),
    ("alloc_async(None, 2)", "busy", lambda s: s.alloc_async(None, 2), TypeError),
    ("alloc_async(timeout=5)", "full", lambda s: s.alloc_async(timeout=5), TypeError),
    ("alloc_async(1, 2)", "full", lambda s: s.alloc_async(1, 2), TypeError),
    # -- BlockQueue(owner), q.put(h), q.get(), q.get_async(), q.get_wait()
    ("BlockQueue(None)", "busy", lambda s: BlockQueue(None), TypeError),
    ("BlockQueue(64)", "busy", lambda s: BlockQueue(64), TypeError),
    ("BlockQueue(s.buffer)", "busy", lambda s: BlockQueue(s.buffer), TypeError),
    ("q.put(None)", "queued", lambda s: s.q.put(None), TypeError),
    ("q.put('1')", "queued", lambda s: s.q.put("1"), TypeError),
    ("q.put(1.0)", "queued", lambda s: s.q.put(1.0), TypeError),
    ("q.put(True)", "queued", lambda s: s.q.put(True), TypeError),
    ("q.put()", "queued", lambda s: s.q.put(), TypeError),
    ("q.put(-1)", "queued", lambda s: s.q.put(-1), ValueError),
    ("q.put(4) (== num_blocks)", "queued", lambda s: s.q.put(4), ValueError),
    ("q.put(2**70)", "queued", lambda s: s.q.put(BIG), ValueError),
    ("q.put(0), block 0 queued already", "queued", lambda s: s.q.put(0), ValueError),
    ("checked: q.put(1), a free block", "queued checked", lambda s: s.q.put(1), ValueError),
    ("checked: q.put(3), never allocated", "queued checked", lambda s: s.q.put(3), ValueError),
    ("q.get(0)", "queued", lambda s: s.q.get(0), TypeError),
    ("q.get_async('x')", "queued", lambda s: qwait(s, "x"), TypeError),
    ("q.get_async(2**29)", "queued", lambda s: qwait(s, 2**29), ValueError),
    ("q.get_wait(), slab not threadsafe", "queued", lambda s: s.q.get_wait(), ValueError),
    ("q.get_wait('x')", "queued", lambda s: s.q.get_wait("x"), TypeError),
]

# "full" is also a "free(0) with nothing allocated" setup: it frees both first,
# so that row compares against the empty state (see _expected_state).


def _state(s):
    """state(s), and the queue's own words and links where the setup has one."""
    q = getattr(s, "q", None)
    return state(s) + ((len(q), bytes(q._s)) if q is not None else ())


def _expected_state(desc, s):
    if desc.startswith("free(0) with nothing allocated"):
        return None  # the two good frees change the state; checked after
    return _state(s)


def run_row(row):
    """Run one row on a fresh slab; return the exception (or raise AssertionError)."""
    desc, setup, call, exc_type = row
    s = SETUPS[setup]()
    before = _expected_state(desc, s)
    try:
        call(s)
    except Exception as e:  # noqa: BLE001 - the type is checked below
        got = e
    else:
        raise AssertionError("%s: no exception" % desc)
    if got.__class__ is not exc_type:
        raise AssertionError(
            "%s: %s(%s), want %s" % (desc, got.__class__.__name__, got, exc_type.__name__)
        )
    if before is None:  # both blocks given back, then the third free refused
        eq((s.num_used, s.num_free, s.max_used), (0, 2, 2), desc)
        eq(s.alloc(), 1, desc + ": LIFO head after the refused free")
    else:
        eq(_state(s), before, desc + ": state changed")
    if s._waiters is not None:
        eq(s._waiters.next is s._waiters, True, desc + ": a waiter left queued")
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
    if len(ROWS) < 50:
        raise AssertionError("the catalogue lost rows: %d" % len(ROWS))


def test_the_slab_still_works_after_every_row():
    for row in ROWS:
        s = SETUPS[row[1]]()
        try:
            row[2](s)
        except Exception:  # noqa: BLE001, S110 - the previous test checks the type
            pass
        got = mptest.drain(s)
        for h in got:
            s.free(h)
        eq(s.num_used <= s.num_blocks, True, row[0])
        eq(len(set(got)), len(got), row[0] + ": a block handed out twice")


def catalogue():
    """Print one tab-separated line per row: description, setup, exception, message."""
    for row in ROWS:
        e = run_row(row)
        msg = str(e).replace("\n", " ").replace("|", "\\|")
        print("\t".join((row[0], row[1], e.__class__.__name__, msg)))
