"""Evaluate a MicroPython freeze manifest the way the firmware build does, without a
MicroPython checkout: the rules of tools/manifestfile.py (MicroPython v1.29) for
metadata(), include(), package(), module(), require()/add_library() and options.

    python tools/manifest_check.py [modules/manifest.py]

prints each file the manifest freezes as "<target path>  <source file>" and
exits non-zero on any error (a missing file, metadata() twice or not first, ...).
"""

import os
import sys
from pathlib import Path


class ManifestError(Exception):
    pass


class _Options:
    def __init__(self, **kw):
        self._kw, self._defaults = kw, {}

    def defaults(self, **kw):
        self._defaults = kw

    def __getattr__(self, name):
        return self._kw.get(name, self._defaults.get(name))


class Manifest:
    """Freeze mode (what `make BOARD=... FROZEN_MANIFEST=...` uses)."""

    def __init__(self, path_vars=None):
        self.path_vars = path_vars or {}
        self.files = []  # (full_path, target_path)
        self.metadata_stack = [{}]
        self.libraries = {}
        self._visited = set()

    def _resolve(self, path):
        for name, value in self.path_vars.items():
            path = path.replace("$(%s)" % name, value)
        if "$(" in path:
            raise ManifestError("unknown variable in %r" % path)
        return os.path.abspath(path)

    def _add(self, full_path, target):
        if not os.path.isfile(full_path):
            raise ManifestError("Cannot stat %s" % full_path)
        if os.path.splitext(full_path)[1].lower() not in (".py", ".mpy"):
            raise ManifestError("Expected .py or .mpy file: %s" % full_path)
        self.files.append((full_path, target))

    # -- the manifest API --

    def metadata(self, **kw):
        md = self.metadata_stack[-1]
        if kw:
            if md:
                raise ManifestError("Duplicate call to metadata().")
            allowed = {"description", "version", "license", "author", "stdlib", "pypi"}
            allowed.add("pypi_publish")
            bad = set(kw) - allowed
            if bad:
                raise ManifestError("metadata(): unknown argument(s) %s" % sorted(bad))
            md.update(kw)
        return md

    def include(self, manifest_path, is_require=False, **kw):
        if not isinstance(manifest_path, str):
            for m in manifest_path:
                self.include(m, **kw)
            return
        path = self._resolve(manifest_path)
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        if path in self._visited:
            return
        self._visited.add(path)
        if is_require:
            self.metadata_stack.append({})
        try:
            with open(path) as f:
                code = f.read()
        except OSError:
            raise ManifestError("Cannot open manifest %s" % path)
        prev = os.getcwd()
        os.chdir(os.path.dirname(path))
        try:
            exec(compile(code, path, "exec"), self._globals(kw))  # noqa: S102 - it is the manifest
        except ManifestError as e:
            raise ManifestError("Error in manifest file: %s: %s" % (path, e))
        finally:
            os.chdir(prev)
        if is_require:
            self.metadata_stack.pop()

    def package(self, package_path, files=None, base_path=".", opt=None):
        base = self._resolve(base_path)
        if files is not None:
            for f in files:
                target = os.path.join(package_path, f)
                self._add(os.path.join(base, target), target)
            return
        root = os.path.join(base, package_path)
        if not os.path.isdir(root):
            raise ManifestError("package(): no directory %s" % root)
        for dirpath, _, names in os.walk(root, followlinks=True):
            for name in sorted(names):
                if os.path.splitext(name)[1].lower() == ".py":
                    full = os.path.join(dirpath, name)
                    self._add(full, os.path.relpath(full, base))

    def module(self, module_path, base_path=".", opt=None):
        base = self._resolve(base_path)
        if os.path.splitext(module_path)[1].lower() != ".py":
            raise ManifestError("module must be .py file")
        self._add(os.path.join(base, module_path), module_path)

    def add_library(self, library, library_path, prepend=False):
        self.libraries[library] = self._resolve(library_path)

    def require(self, name, version=None, pypi=None, library=None, **kw):
        paths = [self.libraries[library]] if library else list(self.libraries.values())
        if library and library not in self.libraries:
            raise ManifestError("Unknown library %s" % library)
        for lib in paths:
            for root, _, names in os.walk(lib):
                if os.path.basename(root) == name and "manifest.py" in names:
                    self.include(root, is_require=True, **kw)
                    return
        raise ManifestError("Package '%s' not found in any library" % name)

    def _globals(self, kw):
        return {
            "metadata": self.metadata,
            "include": self.include,
            "require": self.require,
            "add_library": self.add_library,
            "package": self.package,
            "module": self.module,
            "options": _Options(**kw),
        }


def evaluate(manifest, path_vars=None):
    m = Manifest(path_vars)
    m.include(str(manifest))
    return m


def main(argv):
    path = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "modules"
    try:
        m = evaluate(path)
    except ManifestError as e:
        print("manifest error: %s" % e)
        return 1
    print("metadata: %s" % m.metadata())
    for full, target in m.files:
        print("%-24s %s" % (target, full))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
