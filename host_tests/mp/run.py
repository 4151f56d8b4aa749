"""MicroPython-side test runner: the same on the Unix port and on a board.

    micropython run.py                       every test_*.py module here, every engine
    micropython run.py test_core             one module
    micropython run.py test_core test_lifo viper   one test on one engine
    micropython run.py --list test_core      names, one per line (used by pytest)

Prints one "PASS"/"FAIL"/"SKIP" line per test and engine, a traceback under
each failure, then "N passed, N failed"; exits with the failure count.
"""

import gc
import os
import sys

import memslab

# MemSlab's methods beyond alloc/free and the counters load on the first use
# of one (memslab/_methods.py). A program makes that first call at start-up
# (README: before enabling interrupts); the runner makes it here, first: on a
# 64K heap a source install compiles them best before anything else cuts the
# heap up, as a board's program would. test_lazy_import.py tests when and what
# loads, on a package imported anew.
gc.collect()
memslab.MemSlab(4, 1).views()

import mptest  # after the methods are loaded


def all_modules():
    """Every test_*.py beside this file (cwd on the host and under `mpremote mount`)."""
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    names = [f[:-3] for f in os.listdir(here) if f.startswith("test_") and f.endswith(".py")]
    names.sort()
    return names


def tests_of(mod):
    names = [n for n in dir(mod) if n.startswith("test_")]
    names.sort()
    return names


def engines_of(mod, name):
    # A module lists its engine-independent tests in ANY_ENGINE: they run once.
    # A module with COMPILED = True runs on engine="compiled" too: not every
    # module does, because MicroPython never frees machine code on some ports
    # (the Unix port, ESP32), and a board running the whole suite in one
    # process would run out of memory compiling thousands of slabs.
    if name in getattr(mod, "ANY_ENGINE", ()):
        return ["any"]
    if getattr(mod, "COMPILED", False):
        return mptest.ENGINES + mptest.COMPILED
    return mptest.ENGINES


def run_one(mod, name, engine):
    mptest.ENGINE = mptest.ENGINES[-1] if engine == "any" else engine
    label = "%s.%s[%s]" % (mod.__name__, name, engine)
    gc.collect()  # each test starts from a collected heap, whatever the last one left
    try:
        getattr(mod, name)()
    except Exception as e:  # noqa: BLE001 - report every failure, keep going
        if e.__class__.__name__ == "SkipTest":
            print("SKIP", label, e)
            return True
        print("FAIL", label)
        sys.print_exception(e)
        return False
    print("PASS", label)
    return True


def main(argv):
    if argv and argv[0] == "--list":
        mod = __import__(argv[1])
        for name in tests_of(mod):
            for engine in engines_of(mod, name):
                print(name, engine)
        return 0
    modules = [argv[0]] if argv else all_modules()
    failed = passed = 0
    for modname in modules:
        gc.collect()  # compiling a test module on a small heap needs contiguous room
        mod = __import__(modname)
        names = [argv[1]] if len(argv) > 1 else tests_of(mod)
        for name in names:
            engines = [argv[2]] if len(argv) > 2 else engines_of(mod, name)
            for engine in engines:
                if run_one(mod, name, engine):
                    passed += 1
                else:
                    failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
