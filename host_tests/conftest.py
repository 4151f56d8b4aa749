"""Run the MicroPython-side tests (host_tests/mp/test_*.py) inside the real
`micropython` binary, one pytest item per test function, engine and variant.

A variant is where the package comes from and how big the heap is:
  src      modules/ as .py, the default heap
  mpy      firmware/UNIX/lib, the x64 .mpy build (`make firmware-UNIX`, which
           `make test` runs first); fails, not skips, when the build is missing
  heap64k  the .mpy build under `-X heapsize=64K` (a small board's heap, with
           the install a small board should use), for the modules that carry
           the line `# memslab-test: small-heap`
  src64k   modules/ as .py (compiled on the "board") under 64K, for the modules
           that carry `# memslab-test: small-heap-source`: the slab itself
           must work from a source install on a small board; MemPool and the
           asyncio glue there need the .mpy install (compiling them fragments
           a 64K heap too far)
  fallback the .py package with the viper engine's build-time checks made to
           fail (MEMSLAB_VIPER_FAST=0: memslab._viper.FAST = False), so viper
           slabs get the plain pair; for the small-heap (core) modules
  recompiled  the .mpy build with the viper engine compiled again from its
           source text (_vipersrc.py; MEMSLAB_VIPER_RECOMPILE=1), as frozen
           firmware whose machine code failed the self-check runs it; for the
           small-heap (core) modules
engine="compiled" items run in src and mpy only (see MicroPythonFile.collect).
The item runs `micropython run.py <module> <test> <engine>`; on failure the
MicroPython traceback is the pytest failure message; a test that raised
SkipTest is a pytest skip.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MP_DIR = ROOT / "host_tests" / "mp"
MICROPYTHON = str(Path(sys.executable).with_name("micropython"))

SMALL_HEAP = "# memslab-test: small-heap"
SMALL_HEAP_SOURCE = "# memslab-test: small-heap-source"

# name -> (package dir, extra micropython args, which modules: "all" or "small-heap")
VARIANTS = {
    "src": (ROOT / "modules", [], "all"),
    "mpy": (ROOT / "firmware" / "UNIX" / "lib", [], "all"),
    "heap64k": (ROOT / "firmware" / "UNIX" / "lib", ["-X", "heapsize=64K"], SMALL_HEAP),
    "src64k": (ROOT / "modules", ["-X", "heapsize=64K"], SMALL_HEAP_SOURCE),
    "fallback": (ROOT / "modules", [], SMALL_HEAP),
    "recompiled": (ROOT / "firmware" / "UNIX" / "lib", [], SMALL_HEAP),
}
ENV = {"fallback": {"MEMSLAB_VIPER_FAST": "0"}, "recompiled": {"MEMSLAB_VIPER_RECOMPILE": "1"}}


def run_micropython(args, lib=ROOT / "modules", extra=(), timeout=120, cwd=MP_DIR, env=None):
    """Run the real micropython with `lib` and host_tests/mp on its path."""
    # .frozen first: a MICROPYPATH replaces the default path, and the Unix port
    # keeps its frozen asyncio and mip there.
    env = dict(os.environ, **(env or {}), MICROPYPATH=".frozen:%s:%s" % (lib, MP_DIR))
    return subprocess.run(
        [MICROPYTHON, *extra, *args],
        cwd=str(cwd),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def pytest_collect_file(parent, file_path):
    if file_path.parent == MP_DIR and file_path.name.startswith("test_"):
        return MicroPythonFile.from_parent(parent, path=file_path)
    return None


class MicroPythonFile(pytest.File):
    def collect(self):
        module = self.path.stem
        listing = run_micropython(["run.py", "--list", module])
        if listing.returncode != 0:
            raise RuntimeError("cannot list %s:\n%s%s" % (module, listing.stdout, listing.stderr))
        for line in listing.stdout.split("\n"):
            if not line.strip():
                continue
            name, engine = line.split()
            text = self.path.read_text()
            for variant, (lib, extra, which) in VARIANTS.items():
                if which != "all" and which + "\n" not in text:
                    continue
                if variant in ENV and engine in ("python", "compiled"):
                    continue  # the fallback and recompiled variants are about viper slabs
                if engine == "compiled" and "heapsize" in " ".join(extra):
                    # Compiling a slab's pair needs a free block of some KB: on a
                    # 64K heap it fits or not depending on where ASLR put the heap
                    # (the addresses' digits are in the source), so it would be
                    # tested or skipped by luck. Its fallbacks: test_compiled.py.
                    continue
                yield MicroPythonItem.from_parent(
                    self,
                    name="%s[%s-%s]" % (name, engine, variant),
                    module=module,
                    test=name,
                    engine=engine,
                    lib=lib,
                    extra=extra,
                    env=ENV.get(variant),
                )


class MicroPythonItem(pytest.Item):
    def __init__(self, *, module, test, engine, lib, extra, env, **kw):
        super().__init__(**kw)
        self.env = env
        self.module, self.test, self.engine, self.lib, self.extra = (
            module,
            test,
            engine,
            lib,
            extra,
        )

    def runtest(self):
        r = run_micropython(
            ["run.py", self.module, self.test, self.engine],
            lib=self.lib,
            extra=self.extra,
            env=self.env,
        )
        out = r.stdout + r.stderr
        if r.returncode != 0 or "FAIL" in out or ("PASS" not in out and "SKIP" not in out):
            raise MicroPythonFailure(out)
        if "SKIP" in out:
            pytest.skip(out.strip())

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return "micropython %s %s [%s]:\n%s" % (
                self.module,
                self.test,
                self.engine,
                excinfo.value.args[0],
            )
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, "%s::%s" % (self.module, self.name)


class MicroPythonFailure(Exception):
    pass
