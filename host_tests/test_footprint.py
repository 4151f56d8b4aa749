"""What `import memslab` keeps on the heap stays small (issue 21).

On a board, code loaded from .mpy lives in the heap: every function, class,
string constant and interned name of every module `import memslab` loads.
Measured here as `make footprint` does (tools/footprint.py): a fresh
`micropython` process per measurement, so no other test's heap state counts,
over the x64 .mpy build compiled into a scratch folder. The bounds sit about
10% above today's figures (x64: 8,544 B at import, 8,672 B once a first slab
was built and dropped; the release before kept 19,520 / 19,808 B): a module
loaded at import again, or the methods moved back into __init__.py, fails.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import footprint

IMPORT_KEPT_MAX = 9400
WITH_SLAB_MAX = 9700


def test_import_memslab_keeps_less_than_the_bound(tmp_path):
    sizes = footprint.build("UNIX", tmp_path)
    assert not [f for f, n in sizes.items() if isinstance(n, str)], sizes
    heap = footprint.import_heap(tmp_path)
    assert heap["kept"] <= IMPORT_KEPT_MAX, heap
    assert heap["with_slab"] <= WITH_SLAB_MAX, heap
