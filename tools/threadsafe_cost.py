"""Cost of threadsafe=True on one alloc()+free() pair, both engines, in one run.

    MICROPYPATH=modules .venv/bin/micropython tools/threadsafe_cost.py [pairs]

Prints ns per pair (best of 5 runs) for threadsafe False/True and the difference.
"""

import sys
import time

from memslab import MemSlab

try:
    from memslab import _viper  # noqa: F401

    ENGINES = ("python", "viper")
except (SyntaxError, ImportError):
    ENGINES = ("python",)

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000


def loop(slab, n):
    alloc = slab.alloc
    free = slab.free
    t0 = time.ticks_us()
    for _ in range(n):
        free(alloc())
    return time.ticks_diff(time.ticks_us(), t0)


def empty(n):
    t0 = time.ticks_us()
    for _ in range(n):
        pass
    return time.ticks_diff(time.ticks_us(), t0)


base = min(empty(N) for _ in range(5))
for engine in ENGINES:
    ns = {}
    for ts in (False, True):
        s = MemSlab(16, 8, engine=engine, threadsafe=ts)
        ns[ts] = (min(loop(s, N) for _ in range(5)) - base) * 1000 // N
    print(
        "%-6s alloc+free: threadsafe=False %4d ns  threadsafe=True %4d ns  (+%d ns, x%.2f)"
        % (engine, ns[False], ns[True], ns[True] - ns[False], ns[True] / ns[False])
    )
