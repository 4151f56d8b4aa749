"""modules/memslab/_vipersrc.py is _viper.py's viper functions as text, and stays so.

_viper.recompile() compiles that text where frozen machine code failed the
self-check; the "recompiled" variant (conftest.py) runs the core modules on
it, and test_selfcheck.py the path that leads there. Here: the file is what
tools/vipersrc.py writes from today's _viper.py.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import vipersrc


def test_the_source_text_is_fresh():
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "vipersrc.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_it_holds_every_viper_function_and_no_comment():
    text = vipersrc.source_text()
    viper = (ROOT / "modules" / "memslab" / "_viper.py").read_text()
    assert text.count("@micropython.viper") == viper.count("@micropython.viper") == 3
    assert "#" not in text and "def build(" in text and "def _fast(" in text


def test_a_viper_py_without_the_functions_is_refused(tmp_path):
    bad = tmp_path / "_viper.py"
    bad.write_text("def build(st, buf, poison):\n    pass\n")
    try:
        vipersrc.source_text(bad)
    except SystemExit as e:
        assert "no function _fast" in str(e)
    else:
        raise AssertionError("a _viper.py without _fast must be refused")
