"""docs/readme-badinput.md tells the truth: its table of bad inputs and what each gets
is generated again from the real micropython and must be the one in the file."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import catalogue  # tools/ is not a package: on the path above


def test_the_bad_input_catalogue_is_current():
    table, n = catalogue.rows_table()
    doc = catalogue.DOC.read_text()
    stale = "docs/readme-badinput.md is stale: run .venv/bin/python tools/catalogue.py --write"
    assert table in doc, stale
    assert "(%d rows)" % n in doc, stale


def test_the_pool_catalogue_is_current():
    table, n = catalogue.pool_table()
    doc = catalogue.DOC.read_text()
    stale = "docs/readme-badinput.md is stale: run .venv/bin/python tools/catalogue.py --write"
    assert table in doc, stale
    assert "(%d rows)" % n in doc, stale
