"""Write package.json (what `mip install` reads) from modules/: one version, one file list.

    python tools/package_json.py            rewrite package.json
    python tools/package_json.py --check    exit 1 if package.json is not what it would write

The version comes from modules/manifest.py (metadata(version=...)), the file list
from modules/memslab/*.py; host_tests/test_mip.py runs --check.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import manifest_check

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "package.json"


def render():
    version = manifest_check.evaluate(ROOT / "modules" / "manifest.py").metadata()["version"]
    files = sorted(p.name for p in (ROOT / "modules" / "memslab").glob("*.py"))
    urls = ",\n".join(
        "    [%s, %s]" % (json.dumps("memslab/" + f), json.dumps("modules/memslab/" + f))
        for f in files
    )
    return '{\n  "urls": [\n%s\n  ],\n  "deps": [],\n  "version": %s\n}\n' % (
        urls,
        json.dumps(version),
    )


def main(argv):
    text = render()
    if argv == ["--check"]:
        if OUT.read_text() != text:
            print("package.json is stale: run python tools/package_json.py")
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
