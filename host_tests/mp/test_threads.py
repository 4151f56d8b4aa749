"""threadsafe=True: one slab shared by several GIL-less threads (Unix port, RP2040 cores).

Each owner stamps its id into every byte of its block and re-checks the stamp
before freeing: a block handed to two owners at once shows up as a foreign
stamp. Afterwards every block must be free exactly once and every round must be
accounted for. Nothing here depends on scheduling: a thread that loses every
race for a block (all misses) is fine; only corruption or a lost block fails.

Thread models: rp2 has exactly one extra thread (core 1; a second one raises
`OSError: core1 in use`), so there the main thread works beside one worker;
ESP32 (threads under a GIL) and the Unix port (threads, no GIL) get three
workers beside the main thread. Only a port without `_thread` skips.
"""

import sys
import time

import mptest
from mptest import eq

COMPILED = True  # run on engine="compiled" too (run.py)


def owners(platform):
    """Owners of a stress run, the main thread included, that a port's thread model allows."""
    return 2 if platform == "rp2" else 4


THREADS = owners(sys.platform)
ROUNDS = 3000
# waiting for the workers to finish: a bound that only a hang reaches
HANG_MS = 120000


def _start(_thread, fn, args):
    """start_new_thread, retried while the port is still releasing the previous
    thread's slot (rp2: core 1 is freed just after the function returns)."""
    t0 = time.ticks_ms()
    while True:
        try:
            return _thread.start_new_thread(fn, args)
        except OSError:
            if time.ticks_diff(time.ticks_ms(), t0) > HANG_MS:
                raise
            time.sleep_ms(1)


def worker(s, me, rounds, stats, done):
    """alloc/stamp/verify/free `rounds` times; stats[me] = [cycles, misses, clashes].

    An exception (a corrupted slab raises) is stored in stats[me] instead.
    """
    try:
        _work(s, me, rounds, stats)
    except Exception as e:  # noqa: BLE001 - reported by the caller
        stats[me] = e
    done[me] = 1


def _work(s, me, rounds, stats):
    buf = s.buffer
    bs = s.block_size
    mine = [0, 0, 0]
    held = []
    for i in range(rounds):
        h = s.alloc()
        if h is None:
            mine[1] += 1
        else:
            o = h * bs
            for k in range(bs):
                buf[o + k] = me
            held.append(h)
        # hold up to two blocks, release the oldest: owners overlap in time
        if len(held) > (i & 1) or (h is None and held):
            b = held.pop(0)
            o = b * bs
            for k in range(bs):
                if buf[o + k] != me:
                    mine[2] += 1
                    break
            s.free(b)
            mine[0] += 1
    for b in held:
        s.free(b)
        mine[0] += 1
    stats[me] = mine


def stress(
    threadsafe,
    engine,
    threads=THREADS,
    rounds=ROUNDS,
    blocks=5,
    timeout_ms=HANG_MS,
    threading=None,
    **kw,
):
    """Owners 1..threads share one slab: 2..threads are new threads, 1 is this one.

    Returns (stats per owner, slab, finished): finished is False only if a worker
    was still running after timeout_ms (a hang). `threading`: a _thread stand-in."""
    _thread = threading or mptest.thread_or_skip()
    s = mptest.MemSlab(16, blocks, engine=engine, threadsafe=threadsafe, **kw)
    mptest.got_engine(s, engine)
    stats = [None] * (threads + 1)
    done = [0] * (threads + 1)
    for t in range(2, threads + 1):
        _start(_thread, worker, (s, t, rounds, stats, done))
    worker(s, 1, rounds, stats, done)
    t0 = time.ticks_ms()
    while sum(done) < threads and time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        time.sleep_ms(1)
    return stats[1:], s, sum(done) == threads


def all_free_once(s):
    """Every block on the free list once: walk it, then allocate them all."""
    chain, more, end = s._walk(bytearray((s.num_blocks + 7) >> 3), s.num_blocks)
    eq((end, more), ("end", 0), "free list ends cleanly")
    eq(sorted(chain), list(range(s.num_blocks)), "free list holds each block once")
    got = [s.alloc() for _ in range(s.num_blocks)]
    eq(sorted(got), list(range(s.num_blocks)), "each block allocatable once")
    eq(s.alloc(), None, "and no more")


def check(stats, s, finished, rounds):
    """Integrity, not fairness: no owner saw a foreign stamp, every round of every owner
    allocated or missed, every block taken was given back, the slab ends empty."""
    eq(finished, True, "all threads finished within %d s" % (HANG_MS // 1000))
    for t, st in enumerate(stats):
        if not isinstance(st, list):
            raise AssertionError("owner %d raised %r" % (t + 1, st))
        cycles, misses, clashes = st
        eq(clashes, 0, "owner %d saw another owner's stamp in its block" % (t + 1))
        eq(cycles + misses, rounds, "owner %d: every round allocated or missed" % (t + 1))
    # the first alloc of the run cannot miss: the slab starts empty
    if not sum(st[0] for st in stats):
        raise AssertionError("no owner ever got a block")
    eq(s.num_used, 0, "num_used")
    if not 1 <= s.max_used <= s.num_blocks:
        raise AssertionError("max_used %d outside 1..%d" % (s.max_used, s.num_blocks))
    all_free_once(s)


def test_threadsafe_stress():
    check(*stress(True, mptest.ENGINE), ROUNDS)


def test_threadsafe_stress_checked():
    # checked mode: free() poisons the block, alloc() verifies the poison, so a
    # write by a stale owner raises SlabCorruptedError in someone's alloc().
    check(*stress(True, mptest.ENGINE, rounds=ROUNDS // 2, checked=True), ROUNDS // 2)


class Core1Only:
    """_thread as the rp2 port has it: one extra thread (core 1) at a time, else
    `OSError: core1 in use`; core 1 is released a little after the function returns."""

    def __init__(self, real):
        self.real = real
        self.lock = real.allocate_lock()
        self.busy = False
        self.started = 0

    def start_new_thread(self, fn, args):
        with self.lock:
            if self.busy:
                raise OSError("core1 in use")
            self.busy = True
            self.started += 1
        self.real.start_new_thread(self._run, (fn, args))

    def _run(self, fn, args):
        try:
            fn(*args)
        finally:
            time.sleep_ms(2)
            self.busy = False


def test_rp2_thread_model_main_and_core1():
    eq(owners("rp2"), 2, "rp2: the main thread and core 1")
    eq(owners("esp32"), 4, "esp32: several threads")
    core1 = Core1Only(mptest.thread_or_skip())
    # back to back: the second run may find core 1 not yet released, and must wait for it
    for run in range(2):
        check(*stress(True, mptest.ENGINE, owners("rp2"), 500, threading=core1), 500)
        eq(core1.started, run + 1, "one core-1 thread per run")
