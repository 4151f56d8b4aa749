"""A MemPool's state words: _poolviper.py describes them, every copy agrees.

The machine code cannot import names, and a const() is folded into the
bytecode where an imported name would be a lookup per use: so _pool.py,
_poolbuild.py, _poolmore.py and _poolviper.py each keep const copies. This
test proves every copy equal to _poolviper.py's and each word described in
its comment, and that no pool word reuses the name of a slab's state word
(_layout.py, which test_layout.py checks).
"""

import re

from test_layout import LAYOUT, PKG, _consts

POOL = ("TOP", "NH", "END", "LAST", "CELL", "HI", "T", "TB", "PEAK", "PEAKB", "W64", "REC", "RW")
RECORD = ("SIZE", "FIRST", "ST", "BLOCKS")  # word offsets inside a class record
VIPER = _consts(PKG / "_poolviper.py")


def test_the_words_are_described_and_distinct():
    doc = (PKG / "_poolviper.py").read_text()
    for name in POOL[:-2] + RECORD:
        assert re.search(r"#\s+(\d+ )?%s\b" % name, doc) or re.search(r"#.*\b%s\b" % name, doc), (
            name
        )
        assert name not in LAYOUT, "%s is a slab state word's name (_layout.py)" % name
    header = [VIPER[k] for k in POOL[:-2]]
    assert sorted(header) == sorted(set(header)) and max(header) < VIPER["REC"]
    assert sorted(VIPER[k] for k in RECORD) == list(range(VIPER["RW"]))


def test_every_copy_equals_poolviper():
    seen = 0
    for path in sorted(PKG.glob("_pool*.py")):
        for name, value in _consts(path).items():
            if name in POOL or name in RECORD:
                assert value == VIPER[name], "%s: %s = %r, _poolviper.py says %r" % (
                    path.name,
                    name,
                    value,
                    VIPER[name],
                )
                seen += 1
    assert seen > 2 * len(POOL)
