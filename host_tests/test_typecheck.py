"""make typecheck sees MicroPython through the board stubs: viper's ptr8/ptr32/uint
type-check, and a real type error in board code is reported."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import typecheck

import boards

VIPER = """import micropython
from machine import Pin


@micropython.viper
def total(buf, n: int) -> int:
    p = ptr8(buf)
    w = ptr32(buf)
    s = 0
    for i in range(n):
        s += p[i]
    w[0] = s
    return int(uint(s))


Pin(25, Pin.OUT).value(1)
"""


def pyright_on(tmp_path, source, extra_paths=()):
    """pyright's diagnostics for `source` as RPI_PICO board code (extra_paths: more
    import roots, e.g. modules/ for memslab and its stubs)."""
    stubs = boards.read_board("RPI_PICO")["STUBS"]
    target = typecheck.install_stubs("RPI_PICO", stubs)
    (tmp_path / "code.py").write_text(source)
    cfg = tmp_path / "pyrightconfig.json"
    cfg.write_text(
        json.dumps(
            {
                "include": ["code.py"],
                "extraPaths": [str(p) for p in extra_paths],
                "stubPath": str(target),
                "typeshedPath": str(target),
                "typeCheckingMode": "basic",
                "reportMissingModuleSource": "none",
            }
        )
    )
    return typecheck.run_pyright(cfg)


def test_viper_builtins_and_board_api_type_check(tmp_path):
    assert pyright_on(tmp_path, VIPER) == []


def test_a_type_error_in_board_code_is_reported(tmp_path):
    diags = pyright_on(tmp_path, VIPER + 'Pin(25, Pin.OUT).value("on", 2)\nptr32(1).nope\n')
    lines = sorted(d["range"]["start"]["line"] + 1 for d in diags)
    n = VIPER.count("\n")
    assert lines == [n + 1, n + 2], diags


MEMSLAB_OK = """from memslab import MemSlab, SlabEmptyError

slab = MemSlab(32, 8, checked=True)
h = slab.alloc()
if h is not None:
    slab.view(h)[0] = 1
    slab.free(h)
with slab.block() as b:
    n: int = b + slab.num_used + slab.addressof(b)
used: list = slab.used()
stats: dict = slab.stats()
slab.reset([0, 1])
try:
    slab.block().__enter__()
except SlabEmptyError:
    pass
"""


def pyright_with_memslab(tmp_path, source):
    """pyright on `source` as board code that imports memslab (its .pyi stubs)."""
    return pyright_on(tmp_path, source, [ROOT / "modules"])


def test_memslab_api_type_checks_through_its_stubs(tmp_path):
    assert pyright_with_memslab(tmp_path, MEMSLAB_OK) == []


def test_memslab_misuse_is_reported(tmp_path):
    bad = MEMSLAB_OK + 'slab.alloc(1)\nslab.free("x")\nMemSlab("16", 4)\nslab.nope()\n'
    diags = pyright_with_memslab(tmp_path, bad)
    lines = sorted({d["range"]["start"]["line"] + 1 for d in diags})
    n = MEMSLAB_OK.count("\n")
    assert lines == [n + 1, n + 2, n + 3, n + 4], diags
