"""Does the default threadsafe=False corrupt a slab shared by GIL-less threads?

    MICROPYPATH=modules:host_tests/mp .venv/bin/micropython tools/race_demo.py [rounds] [tries]

Runs the stress of host_tests/mp/test_threads.py with threadsafe False and True on
each engine and prints what it saw. A race is not guaranteed to show up; the test
suite only checks threadsafe=True and never depends on a race happening.
"""

import sys

import mptest
import test_threads as tt

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
tries = int(sys.argv[2]) if len(sys.argv) > 2 else 3

for engine in mptest.ENGINES:
    for ts in (False, True):
        for attempt in range(tries):
            try:
                stats, s, finished = tt.stress(ts, engine, rounds=rounds, timeout_ms=20000)
            except Exception as e:  # noqa: BLE001 - a corrupt free list may raise in a thread
                print(engine, "threadsafe=%s" % ts, "raised", repr(e))
                continue
            raised = [x for x in stats if not isinstance(x, list)]
            stats = [x for x in stats if isinstance(x, list)]
            clashes = sum(x[2] for x in stats)
            used = s.num_used
            problem = "raised in a thread: %r; " % raised[0] if raised else ""
            try:
                tt.all_free_once(s)
            except Exception as e:  # noqa: BLE001
                problem += "free list broken: %s" % e
            print(
                "%-6s threadsafe=%-5s try %d: finished=%s cycles=%d misses=%d "
                "double-owned=%d num_used=%d %s"
                % (
                    engine,
                    ts,
                    attempt,
                    finished,
                    sum(x[0] for x in stats),
                    sum(x[1] for x in stats),
                    clashes,
                    used,
                    problem or "free list ok",
                )
            )
