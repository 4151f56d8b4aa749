"""memslab soak: threads + asyncio tasks + a heap-locked "interrupt" thread trade blocks.

    micropython soak.py [ops_per_actor] [engine] [checked]     (make soak)

One threadsafe slab. Every actor (3 threads, 3 asyncio tasks using
alloc_async, 1 thread that runs alloc/free under micropython.heap_lock() like a
hard IRQ) repeats: take a block, check nobody else marks it as theirs (the
owner table), stamp it (actor id + sequence number in bytes 4..11), yield,
check the stamp is still its own, clear the owner mark, free it. At the end:
num_used == 0, and every block can be allocated exactly once. Prints figures;
exits 1 on any violation.
"""

import sys

if ".frozen" not in sys.path:  # MICROPYPATH hides the Unix port's frozen asyncio
    sys.path.append(".frozen")

import _thread
import asyncio
import micropython
import time

from memslab import MemSlab

OPS = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
ENGINE = sys.argv[2] if len(sys.argv) > 2 else "auto"
CHECKED = len(sys.argv) > 3 and sys.argv[3] == "checked"
NB = 4  # fewer blocks than actors: empty slab, waits and hand-offs happen
BS = 32
THREADS = 3
TASKS = 3
IRQ = 7  # actor id of the heap-locked thread

slab = MemSlab(BS, NB, engine=ENGINE, checked=CHECKED, threadsafe=True)
views = slab.views()  # built before the "interrupt" starts
owner = bytearray(NB)  # 0 = nobody, else actor id + 1
# per actor: [ops done, empty slab, violations, done flag]
stats = [[0, 0, 0, 0] for _ in range(THREADS + TASKS + 1)]
first_error = [None]


def stamp(v, me, seq):
    v[4] = me
    v[5] = seq & 0xFF
    v[6] = (seq >> 8) & 0xFF
    v[7] = 0xC3
    v[8] = me ^ 0xFF


def stamped(v, me, seq):
    return (
        v[4] == me
        and v[5] == seq & 0xFF
        and v[6] == (seq >> 8) & 0xFF
        and v[7] == 0xC3
        and v[8] == me ^ 0xFF
    )


def take(h, me, st):
    if owner[h]:
        st[2] += 1  # handed out while another actor holds it
    owner[h] = me + 1


def give(h, me, st, seq):
    if owner[h] != me + 1 or not stamped(views[h], me, seq):
        st[2] += 1
    owner[h] = 0


def thread_actor(me):
    st = stats[me]
    seq = 0
    while seq < OPS:
        h = slab.alloc()
        if h is None:
            st[1] += 1
            time.sleep_us(50)
            continue
        take(h, me, st)
        stamp(views[h], me, seq)
        if seq & 7 == 0:
            time.sleep_us(10)
        give(h, me, st, seq)
        slab.free(h)
        seq += 1
        st[0] = seq
    st[3] = 1


def irq_actor(me):
    st = stats[me]
    seq = 0
    while seq < OPS:
        micropython.heap_lock()  # what a hard IRQ enforces: no allocation at all
        try:
            h = slab.alloc()
            if h is None:
                st[1] += 1
            else:
                take(h, me, st)
                stamp(views[h], me, seq)
                give(h, me, st, seq)
                slab.free(h)
                seq += 1
                st[0] = seq
        except Exception as e:  # noqa: BLE001 - recorded, reported after unlock
            st[2] += 1
            first_error[0] = e
        finally:
            micropython.heap_unlock()
        if h is None:
            time.sleep_us(30)
    st[3] = 1


async def task_actor(me):
    st = stats[me]
    seq = 0
    while seq < OPS:
        h = await slab.alloc_async(20)
        if h is None:
            st[1] += 1  # timed out
            continue
        take(h, me, st)
        stamp(views[h], me, seq)
        await asyncio.sleep_ms(0)
        give(h, me, st, seq)
        slab.free(h)
        seq += 1
        st[0] = seq
    st[3] = 1


async def main():
    tasks = [asyncio.create_task(task_actor(THREADS + i)) for i in range(TASKS)]
    for t in tasks:
        await t
    while not all(stats[i][3] for i in range(THREADS)) or not stats[IRQ - 1][3]:
        await asyncio.sleep_ms(10)


def run():
    t0 = time.ticks_ms()
    for i in range(THREADS):
        _thread.start_new_thread(thread_actor, (i,))
    _thread.start_new_thread(irq_actor, (IRQ - 1,))
    asyncio.run(main())
    ms = time.ticks_diff(time.ticks_ms(), t0)
    names = (
        ["thread%d" % i for i in range(THREADS)] + ["task%d" % i for i in range(TASKS)] + ["irq"]
    )
    total = sum(s[0] for s in stats)
    bad = sum(s[2] for s in stats)
    print("soak: engine=%s checked=%s blocks=%d ops/actor=%d" % (slab.engine, CHECKED, NB, OPS))
    for n, s in zip(names, stats):
        print("  %-8s ops %6d  empty/timeouts %6d  violations %d" % (n, s[0], s[1], s[2]))
    print(
        "  total %d alloc+free pairs in %d ms (%d pairs/s), max_used %d"
        % (total, ms, total * 1000 // max(ms, 1), slab.max_used)
    )
    if first_error[0] is not None:
        print("  first error:", repr(first_error[0]))
    used = slab.num_used
    ok = bad == 0 and used == 0
    got = []
    while True:
        h = slab.alloc()
        if h is None:
            break
        got.append(h)
    got.sort()
    ok = ok and got == list(range(NB))
    print("  final num_used %d, then drained blocks %r" % (used, got))
    print("SOAK OK" if ok else "SOAK FAILED (violations %d)" % bad)
    return ok


sys.exit(0 if run() else 1)
