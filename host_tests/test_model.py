"""Model-based randomized tests: hypothesis drives a real `micropython` process.

One persistent `micropython model_driver.py` per test (engine x mode); each
hypothesis example starts a fresh slab in it and runs a sequence of ops:
alloc, free of an owned block, bad frees (wrong type, out of range, already
free: in default mode only the kinds it promises to catch, in checked mode any
free or never-allocated block), writes into owned blocks, reads of any block,
reset_max and alloc_async (timeout 0, and a short timeout on a full slab).
Every result, exception type and counter is compared with a plain Python
model of the LIFO free stack, and every read with a byte-exact model of the
buffer (a free block's first word is its link; checked mode poisons the rest).

MEMSLAB_MODEL_EXAMPLES (default 150) sets the examples per test; each is up to
MEMSLAB_MODEL_STEPS (default 60) ops. The totals go to results/model_counts.txt.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

ROOT = Path(__file__).resolve().parent.parent
MP_DIR = ROOT / "host_tests" / "mp"
MICROPYTHON = str(Path(sys.executable).with_name("micropython"))
EXAMPLES = int(os.environ.get("MEMSLAB_MODEL_EXAMPLES", "150"))
STEPS = int(os.environ.get("MEMSLAB_MODEL_STEPS", "60"))
POISON = 0x3A


def engines():
    r = subprocess.run(
        [MICROPYTHON, "-c", "from memslab import _viper"],
        env=dict(os.environ, MICROPYPATH=".frozen:%s" % (ROOT / "modules")),
        capture_output=True,
    )
    return ["python", "viper"] if r.returncode == 0 else ["python"]


def engine_modes():
    """(engine, checked) for the model tests: each engine in both modes, and
    engine="compiled" (where viper runs) in default mode, its only own mode."""
    modes = [(e, c) for e in engines() for c in (False, True)]
    if "viper" in engines():
        modes.append(("compiled", False))
    return [pytest.param(e, c, id="%s-%s" % (e, "checked" if c else "default")) for e, c in modes]


class Driver:
    """A persistent micropython running model_driver.py; one JSON line each way."""

    def __init__(self):
        env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (ROOT / "modules", MP_DIR))
        self.p = subprocess.Popen(
            [MICROPYTHON, "model_driver.py"],
            cwd=str(MP_DIR),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.ops = 0

    def __call__(self, *op):
        self.p.stdin.write(json.dumps(op) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise AssertionError("micropython died on %r:\n%s" % (op, self.p.stderr.read()))
        self.ops += 1
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


COUNTS = {}


def record(key, sequences, ops):
    COUNTS[key] = (sequences, ops)
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    total_s = sum(s for s, _ in COUNTS.values())
    total_o = sum(o for _, o in COUNTS.values())
    lines = ["%s: %d sequences, %d ops" % (k, s, o) for k, (s, o) in sorted(COUNTS.items())]
    lines.append("total: %d sequences, %d ops" % (total_s, total_o))
    (out / "model_counts.txt").write_text("\n".join(lines) + "\n")


def make_machine(drv, engine, checked, stats):
    class SlabMachine(RuleBasedStateMachine):
        @initialize(bs=st.sampled_from([4, 8, 12, 16, 32]), n=st.integers(1, 9))
        def new(self, bs, n):
            stats["sequences"] += 1
            self.n, self.bs = n, bs
            got = drv("new", engine, bs, n, checked)
            assert got[0] == engine and got[1] is None, got
            self.free = list(range(n - 1, -1, -1))  # top of the stack (end) = list head
            self.owned = []
            self.used = self.maxu = 0
            self.mem = []
            for i in range(n):
                b = bytearray((POISON if checked else 0,) * bs)
                b[0:4] = (i + 1).to_bytes(4, "little")
                self.mem.append(b)

        def check(self, got, result, exc=None):
            want = [result, exc, self.used, self.n - self.used, self.maxu]
            if exc == "SlabCorruptedError":
                got = [None] + got[1:]
                want[0] = None
            assert got == want, "got %r, model says %r" % (got, want)

        def do_alloc(self, op):
            if self.free:
                h = self.free.pop()
                self.owned.append(h)
                self.used += 1
                self.maxu = max(self.maxu, self.used)
            else:
                h = None
            self.check(drv(*op), h)

        @rule()
        def alloc(self):
            self.do_alloc(("alloc",))

        @rule()
        def alloc_async_now(self):
            self.do_alloc(("async", 0))

        @precondition(lambda self: self.free)
        @rule()
        def alloc_async_available(self):
            self.do_alloc(("async", 50))

        @precondition(lambda self: not self.free)
        @rule(t=st.sampled_from([1, 3]))
        def alloc_async_full_times_out(self, t):
            self.check(drv("async", t), None)

        @precondition(lambda self: self.owned)
        @rule(k=st.integers(0, 10**6))
        def free_owned(self, k):
            h = self.owned.pop(k % len(self.owned))
            self.mem[h][0:4] = (self.free[-1] if self.free else self.n).to_bytes(4, "little")
            if checked:
                self.mem[h][4:] = bytes((POISON,)) * (self.bs - 4)
            self.free.append(h)
            self.used -= 1
            self.check(drv("free", "int", h), None)

        @rule(
            kv=st.sampled_from(
                [("none", None), ("str", "1"), ("str", "x"), ("float", 0.0), ("float", 1.0)]
                + [("bool", False), ("bool", True)]
            )
        )
        def free_wrong_type(self, kv):
            self.check(drv("free", kv[0], kv[1]), None, "TypeError")

        @rule(k=st.integers(0, 5), which=st.integers(0, 5))
        def free_out_of_range(self, k, which):
            v = [-1, self.n, self.n + k, 2**31, -(2**31) - k, 2**64 + k][which]
            kind = "int" if -(2**30) < v < 2**30 else "big"
            self.check(drv("free", kind, str(v) if kind == "big" else v), None, "ValueError")

        def free_kinds_caught(self):
            if checked:
                return list(self.free)  # every free block, allocated before or never
            if self.used == 0:
                return list(self.free)
            return [self.free[-1]] if self.free else []  # the head only

        @precondition(lambda self: self.free_kinds_caught())
        @rule(k=st.integers(0, 10**6))
        def free_already_free(self, k):
            cands = self.free_kinds_caught()
            self.check(drv("free", "int", cands[k % len(cands)]), None, "ValueError")

        @precondition(lambda self: self.owned)
        @rule(k=st.integers(0, 10**6), data=st.binary(min_size=1, max_size=32))
        def write(self, k, data):
            h = self.owned[k % len(self.owned)]
            data = data[: self.bs]
            self.mem[h][: len(data)] = data
            self.check(drv("write", h, data.hex()), None)

        @rule(k=st.integers(0, 10**6))
        def read(self, k):
            h = k % self.n
            self.check(drv("read", h), self.mem[h].hex())

        @rule()
        def reset_max(self):
            self.maxu = self.used
            self.check(drv("reset_max"), None)

        def teardown(self):
            if hasattr(self, "n"):  # every block's bytes, once per sequence
                for h in range(self.n):
                    self.check(drv("read", h), self.mem[h].hex())

    return SlabMachine


def run_machine(make, key, engine, checked, examples):
    """Run the state machine `make` builds against a fresh Driver; record and
    return (sequences, ops)."""
    drv = Driver()
    stats = {"sequences": 0}
    try:
        run_state_machine_as_test(
            make(drv, engine, checked, stats),
            settings=settings(
                max_examples=examples,
                stateful_step_count=STEPS,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        drv.close()
    key = "%s%s-%s" % (key, engine, "checked" if checked else "default")
    record(key, stats["sequences"], drv.ops)
    print("%s: %d sequences, %d ops" % (key, stats["sequences"], drv.ops))
    return stats["sequences"], drv.ops


@pytest.mark.parametrize(("engine", "checked"), engine_modes())
def test_model(engine, checked):
    ops = run_machine(make_machine, "", engine, checked, EXAMPLES)[1]
    assert ops >= EXAMPLES * 10, "too few ops ran: %d" % ops


# -- a corrupted free list: never a wrong block ------------------------------------

LINK_KINDS = ["above", "negative", "end", "owned", "free", "self"]


@pytest.mark.parametrize(("engine", "checked"), engine_modes())
def test_corrupted_link_never_hands_out_a_wrong_block(engine, checked):
    """Build a random state, overwrite one free block's link (through slab.buffer) with
    a random value, then alloc() until None or an error, the owner writing into
    each block it gets (as owners do). Every alloc() must raise SlabCorruptedError
    naming a block with the counters unchanged, or return an in-range block that
    nobody owns. Both modes catch a link outside 0..N. Default mode cannot tell
    a link to an owned or another free block from a good one (cycles, aliasing):
    there it may hand out an owned block, which is only counted; checked mode
    must never. A self-link is refused in both modes (test_checked_self_link_is_caught)."""
    drv = Driver()
    seen = {k: [0, 0, 0] for k in LINK_KINDS}  # runs, detected, owned handed out

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        n=st.integers(2, 9),
        bs=st.sampled_from([4, 8, 16]),
        script=st.lists(st.integers(0, 10**6), max_size=24),
        victim=st.integers(0, 10**6),
        kind=st.sampled_from(LINK_KINDS),
        raw=st.integers(0, 2**32 - 1),
        owner_words=st.lists(st.integers(0, 2**32 - 1), min_size=12, max_size=12),
    )
    def run(n, bs, script, victim, kind, raw, owner_words):
        assert drv("new", engine, bs, n, checked)[1] is None
        free = list(range(n - 1, -1, -1))
        owned = []
        for k in script:  # even: alloc, odd: free the k-th owned block
            if k % 2 == 0 and free:
                owned.append(free.pop())
                assert drv("alloc")[0] == owned[-1]
            elif owned:
                h = owned.pop(k % len(owned))
                free.append(h)
                assert drv("free", "int", h)[1] is None
        if not free:
            h = owned.pop()
            free.append(h)
            assert drv("free", "int", h)[1] is None
        v = free[victim % len(free)]
        link = {
            "above": n + 1 + raw % (2**31 - n - 1),
            "negative": -1 - raw % 2**31,
            "end": n,
            "owned": owned[raw % len(owned)] if owned else n + 1,
            "free": free[raw % len(free)],
            "self": v,
        }[kind]
        drv("poke", v, link)
        seen[kind][0] += 1
        for i in range(n + 2):
            before = drv("read", 0)[2:]
            res, exc, *counters = drv("alloc")
            if exc is not None:
                assert exc == "SlabCorruptedError", exc
                assert res.startswith("free block "), res
                assert counters == before, (counters, before)
                seen[kind][1] += 1
                return
            if res is None:
                break
            assert 0 <= res < n, res
            if res in owned:
                seen[kind][2] += 1
                assert not checked, "checked mode handed out owned block %d" % res
                assert kind in ("owned", "free"), (kind, res)
                return
            owned.append(res)
            drv("write", res, owner_words[i % 12].to_bytes(4, "little").hex())
        # v is on the chain, so an out-of-range or self link must have been reached
        assert kind not in ("above", "negative", "self"), "link %d of block %d never reported" % (
            link,
            v,
        )

    try:
        run()
    finally:
        drv.close()
    key = "corrupt-%s-%s" % (engine, "checked" if checked else "default")
    record(key, sum(x[0] for x in seen.values()), drv.ops)
    print("%s [runs, detected, owned handed out]: %r" % (key, seen))
    for k in ("above", "negative", "self"):  # both modes: always detected
        assert seen[k][0] == 0 or seen[k][1] == seen[k][0], (k, seen[k])
    if checked:
        assert all(x[2] == 0 for x in seen.values()), seen
        for k in ("above", "negative", "owned"):
            assert seen[k][1] > 0 or seen[k][0] == 0, (k, seen)


@pytest.mark.parametrize("engine", engines())
def test_checked_self_link_is_caught(engine):
    """A stray write makes free block 0 link to itself. checked alloc() once validated
    the link target only against allocated blocks *before* marking h allocated, so the
    self-link passed, the head stayed on block 0, now owned, and a later alloc() handed
    block 0 out again: two owners in checked mode. Now the self-link is refused."""
    drv = Driver()
    try:
        drv("new", engine, 16, 4, True)
        drv("poke", 0, 0)
        a = drv("alloc")[0]
        drv("write", a, (2).to_bytes(4, "little").hex())
        res, exc, *_ = drv("alloc")
    finally:
        drv.close()
    assert exc == "SlabCorruptedError" or res != a, "block %r handed out twice" % a


# -- MemPool: size classes over slabs ------------------------------------------------


def make_pool_machine(drv, engine, checked, stats):
    class PoolMachine(RuleBasedStateMachine):
        @initialize(
            sizes=st.lists(
                st.sampled_from([4, 8, 16, 32, 64]), min_size=1, max_size=3, unique=True
            ),
            counts=st.lists(st.integers(1, 4), min_size=3, max_size=3),
        )
        def new(self, sizes, counts):
            stats["sequences"] += 1
            self.classes = sorted(zip(sorted(sizes), counts))
            got = drv("pool", engine, self.classes, checked)
            assert got[0] == engine and got[1] is None, got
            self.first, t = [], 0
            for _, n in self.classes:
                self.first.append(t)
                t += n
            self.total = t
            # per class: a LIFO stack of free local indices (end = head), and the owned
            self.free = [list(range(n - 1, -1, -1)) for _, n in self.classes]
            self.owned = []
            self.used = [0] * len(self.classes)

        def check(self, got, result, exc=None):
            want = [result, exc, sum(self.used), self.total - sum(self.used), 0]
            assert got == want, "got %r, model says %r" % (got, want)

        @rule(n=st.integers(0, 80))
        def alloc(self, n):
            if n > self.classes[-1][0]:
                self.check(drv("palloc", "int", n), None, "ValueError")
                return
            h = None
            for c, (size, _) in enumerate(self.classes):
                if size >= n and self.free[c]:
                    h = self.first[c] + self.free[c].pop()
                    self.used[c] += 1
                    self.owned.append(h)
                    break
            self.check(drv("palloc", "int", n), h)

        @rule(kv=st.sampled_from([("none", None), ("float", 1.0), ("str", "8"), ("bool", True)]))
        def alloc_wrong_type(self, kv):
            self.check(drv("palloc", kv[0], kv[1]), None, "TypeError")

        def class_of(self, h):
            c = len(self.first) - 1
            while h < self.first[c]:
                c -= 1
            return c

        @precondition(lambda self: self.owned)
        @rule(k=st.integers(0, 10**6))
        def free_owned(self, k):
            h = self.owned.pop(k % len(self.owned))
            c = self.class_of(h)
            self.free[c].append(h - self.first[c])
            self.used[c] -= 1
            self.check(drv("pfree", "int", h), None)

        @rule(which=st.integers(0, 4))
        def free_bad(self, which):
            kind, v, exc = [
                ("none", None, "TypeError"),
                ("str", "1", "TypeError"),
                ("int", -1, "ValueError"),
                ("int", self.total, "ValueError"),
                ("big", str(2**64), "ValueError"),
            ][which]
            self.check(drv("pfree", kind, v), None, exc)

        def caught(self):
            """Free handles whose free() each mode promises to refuse (as for a slab)."""
            out = []
            for c, stack in enumerate(self.free):
                if checked or self.used[c] == 0:
                    out += [self.first[c] + i for i in stack]
                elif stack:
                    out.append(self.first[c] + stack[-1])
            return out

        @precondition(lambda self: self.caught())
        @rule(k=st.integers(0, 10**6))
        def free_already_free(self, k):
            cands = self.caught()
            self.check(drv("pfree", "int", cands[k % len(cands)]), None, "ValueError")

    return PoolMachine


@pytest.mark.parametrize("checked", [False, True], ids=["default", "checked"])
@pytest.mark.parametrize("engine", engines())
def test_pool_model(engine, checked):
    examples = max(20, EXAMPLES // 3)
    ops = run_machine(make_pool_machine, "pool-", engine, checked, examples)[1]
    assert ops >= examples * 5, "too few ops ran: %d" % ops
