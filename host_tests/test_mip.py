"""package.json: MicroPython's own mip (Unix port) installs memslab from a local HTTP
server, and the MicroPython-side suite passes against the installed copy."""

import functools
import json
import os
import re
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MP_DIR = ROOT / "host_tests" / "mp"
MICROPYTHON = str(Path(sys.executable).with_name("micropython"))
PACKAGE = json.loads((ROOT / "package.json").read_text())


def package_files():
    return sorted(
        p.relative_to(ROOT / "modules").as_posix()
        for p in (ROOT / "modules" / "memslab").rglob("*.py")
    )


def test_package_json_lists_every_module_file():
    dests = sorted(dest for dest, _ in PACKAGE["urls"])
    assert dests == package_files()
    for dest, src in PACKAGE["urls"]:
        assert not re.match(r"^[a-z]+:", src), "urls must be relative to package.json: %s" % src
        assert "\\" not in src
        assert src == "modules/" + dest
        assert (ROOT / src).is_file()


def test_package_json_is_written_from_the_one_version_and_file_list():
    # modules/manifest.py holds the only version; tools/package_json.py copies it
    # (and the module list) into package.json, which mip reads.
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "package_json.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    manifest = (ROOT / "modules" / "manifest.py").read_text()
    assert manifest.count('version="%s"' % PACKAGE["version"]) == 1
    assert "__version__" not in (ROOT / "modules" / "memslab" / "__init__.py").read_text()


REQUESTED = []


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        REQUESTED.append(self.path)
        super().do_GET()


@pytest.fixture
def http_root():
    handler = functools.partial(_Quiet, directory=str(ROOT))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    REQUESTED.clear()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def micropython(args, path, cwd=MP_DIR, timeout=300):
    env = dict(os.environ, MICROPYPATH=".frozen:%s" % path)
    return subprocess.run(
        [MICROPYTHON, *args],
        cwd=str(cwd),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_mip_install_then_suite_passes(http_root, tmp_path):
    target = tmp_path / "lib"
    code = "import mip; mip.install(%r, target=%r)" % (http_root + "/package.json", str(target))
    r = micropython(["-c", code], path="", cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Done" in out and "partially" not in out, out
    installed = sorted(p.relative_to(target).as_posix() for p in target.rglob("*"))
    assert [p for p in installed if p.endswith(".py")] == package_files()
    assert "/package.json" in REQUESTED
    for name in package_files():
        assert (target / name).read_bytes() == (ROOT / "modules" / name).read_bytes()

    # the installed copy is what the suite imports: memslab comes from target
    r = micropython(
        ["-c", "import memslab; print(memslab.__file__)"], path="%s:%s" % (target, MP_DIR)
    )
    assert r.stdout.strip() == str(target / "memslab" / "__init__.py"), r.stdout + r.stderr
    r = micropython(["run.py"], path="%s:%s" % (target, MP_DIR))
    out = r.stdout + r.stderr
    m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.MULTILINE)
    assert m, out
    assert r.returncode == 0 and m.group(2) == "0" and int(m.group(1)) > 0, out


def test_mip_install_fails_on_a_missing_file(http_root, tmp_path):
    # the same install against a package.json naming a file that is not there must not succeed quietly
    bad = dict(PACKAGE, urls=PACKAGE["urls"] + [["memslab/_gone.py", "modules/memslab/_gone.py"]])
    (ROOT / "results").mkdir(exist_ok=True)
    probe = ROOT / "results" / "bad-package.json"
    probe.write_text(json.dumps(bad).replace('"modules/', '"../modules/'))
    try:
        code = "import mip; mip.install(%r, target=%r)" % (
            http_root + "/results/bad-package.json",
            str(tmp_path / "lib"),
        )
        r = micropython(["-c", code], path="", cwd=tmp_path)
    finally:
        probe.unlink()
    out = r.stdout + r.stderr
    print(out)
    assert "Package may be partially installed" in out, out
    assert not (tmp_path / "lib" / "memslab" / "_gone.py").exists()
