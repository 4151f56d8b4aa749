"""The state layout is written down once (modules/memslab/_layout.py); every copy equals it.

The viper engine cannot import names, so it keeps const() copies; the python
engine keeps them too (a const is folded into the bytecode, a global is a
dictionary lookup per use). The MicroPython-side tests name a word or two.
This test reads every `NAME = const(value)` / `NAME = value` of a layout name
in the package and the tests and proves it equal to _layout.py.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "modules" / "memslab"


def _consts(path):
    """{name without leading underscores: value} of module-level int constants."""
    out = {}
    for node in ast.parse(path.read_text()).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if not isinstance(target, ast.Name):
            continue
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "const":
            value = value.args[0]
        if isinstance(value, ast.Constant) and isinstance(value.value, int):
            out[target.id.lstrip("_")] = value.value
    return out


LAYOUT = _consts(PKG / "_layout.py")


def test_the_layout_names_every_word():
    names = ("HEAD", "USED", "MAX", "N", "WPB", "WAIT", "BUF", "CHECKED", "BOX")
    assert [LAYOUT[k] for k in names] == list(range(9))
    assert LAYOUT["VAL"] == LAYOUT["BOX"] + 2  # the cell's value word, 8 bytes into it
    assert LAYOUT["WORDS"] * 4 == LAYOUT["BITS"]
    assert LAYOUT["POISON"] < 2**30  # a small int on 32-bit boards
    doc = (PKG / "_layout.py").read_text()
    for name in LAYOUT:
        assert re.search(r"\b%s\b" % name, doc.split('"""')[1]), name + " is not described"


def test_every_copy_equals_the_layout():
    files = sorted(PKG.glob("*.py")) + sorted((ROOT / "host_tests" / "mp").glob("*.py"))
    checked = 0
    for path in files:
        if path.name == "_layout.py":
            continue
        for name, value in _consts(path).items():
            if name in LAYOUT:
                assert value == LAYOUT[name], "%s: %s = %r, _layout.py says %r" % (
                    path.relative_to(ROOT),
                    name,
                    value,
                    LAYOUT[name],
                )
                checked += 1
    assert checked >= 10, "the engines' const copies were not found"


QUEUE = _consts(PKG / "_queue.py")  # a BlockQueue's state words (its module docstring)


def test_every_queue_copy_equals_the_queue_layout():
    names = ("QTAIL", "QCOUNT", "QN", "QFLAGS", "QBOX", "WAIT", "QOWN")
    assert [QUEUE[k] for k in names] == list(range(7)) and QUEUE["QHEADER"] == 7
    assert QUEUE["WAIT"] == LAYOUT["WAIT"]  # _waitq counts a queue's waiters where a slab's go
    checked = 0
    for path in (PKG / "_queue_viper.py", PKG / "_queue_python.py"):
        for name, value in _consts(path).items():
            if name.startswith("Q") and name != "QLINKS":
                assert value == QUEUE[name], "%s: %s" % (path.name, name)
                checked += 1
    assert _consts(PKG / "_queue_viper.py")["QLINKS"] == 4 * QUEUE["QHEADER"]
    assert checked >= 8, "the pairs' const copies were not found"
