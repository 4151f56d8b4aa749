"""modules/manifest.py under MicroPython's manifest rules (tools/manifest_check.py):
the files it freezes exist and are exactly the package's modules, and a user's
firmware manifest can include() it or package() the folder."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import manifest_check

PKG = sorted(
    p.relative_to(ROOT / "modules").as_posix()
    for p in (ROOT / "modules" / "memslab").rglob("*.py")
)


def frozen(m):
    return sorted(target for _, target in m.files)


def test_manifest_freezes_exactly_the_package():
    m = manifest_check.evaluate(ROOT / "modules" / "manifest.py")
    assert frozen(m) == PKG
    for full, target in m.files:
        assert Path(full) == ROOT / "modules" / target
    assert m.metadata()["version"]
    assert m.metadata()["description"]


def test_user_manifest_can_include_the_folder(tmp_path):
    user = tmp_path / "my_manifest.py"
    user.write_text(
        'include("$(PORT_DIR)/boards/manifest.py")\ninclude(%r)\n' % str(ROOT / "modules")
    )
    port = tmp_path / "port" / "boards"
    port.mkdir(parents=True)
    (port / "manifest.py").write_text("")
    m = manifest_check.evaluate(user, {"PORT_DIR": str(tmp_path / "port")})
    assert frozen(m) == PKG


def test_user_manifest_can_package_it(tmp_path):
    user = tmp_path / "my_manifest.py"
    user.write_text('package("memslab", base_path=%r)\n' % str(ROOT / "modules"))
    assert frozen(manifest_check.evaluate(user)) == PKG


@pytest.mark.parametrize(
    "body, error",
    [
        ('module("nope.py")', "Cannot stat"),
        ('package("nope")', "no directory"),
        ('metadata(version="1")\nmetadata(version="2")', "Duplicate call to metadata()"),
        ('require("memslab")', "not found"),
    ],
)
def test_checker_rejects_broken_manifests(tmp_path, body, error):
    bad = tmp_path / "manifest.py"
    bad.write_text(body + "\n")
    with pytest.raises(manifest_check.ManifestError, match=error):
        manifest_check.evaluate(bad)


def test_a_small_board_can_freeze_it_without_the_asyncio_glue(tmp_path):
    user = tmp_path / "my_manifest.py"
    user.write_text("include(%r, asyncio=False)\n" % str(ROOT / "modules"))
    m = manifest_check.evaluate(user)
    assert frozen(m) == [p for p in PKG if p != "memslab/_async.py"]
    assert m.metadata()["version"]
