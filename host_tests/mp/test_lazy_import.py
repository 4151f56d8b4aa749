"""`import memslab` must not load asyncio; the first alloc_async() does; what a
program imports at boot stays loaded."""

import sys

from mptest import eq

if ".frozen" not in sys.path:  # a MICROPYPATH hides the frozen asyncio of the Unix port
    sys.path.append(".frozen")

ANY_ENGINE = (
    "test_import_memslab_does_not_import_asyncio",
    "test_what_is_imported_at_boot_stays_loaded",
)


def test_import_memslab_does_not_import_asyncio():
    names = [n for n in sys.modules if n == "asyncio" or n.startswith(("asyncio.", "memslab"))]
    saved = {n: sys.modules.pop(n) for n in names}  # earlier tests may have loaded them
    try:
        import memslab

        eq([n for n in sys.modules if n.startswith("asyncio")], [], "after import memslab")
        eq("memslab._async" in sys.modules, False, "memslab._async after import")
        s = memslab.MemSlab(16, 1)
        s.alloc()
        s.alloc_async(0)  # creating the coroutine loads the glue (and asyncio)
        eq("asyncio" in sys.modules, True, "asyncio after alloc_async()")
    finally:
        for n in [
            n for n in sys.modules if n == "asyncio" or n.startswith(("asyncio.", "memslab"))
        ]:
            del sys.modules[n]
        sys.modules.update(saved)


def test_what_is_imported_at_boot_stays_loaded():
    """README, "Loading the rest at boot": after its one import line, the first
    MemPool(), alloc_async(), dump() and used() load nothing more (on a small
    heap they would otherwise take KBs each at that moment, and could fail)."""
    names = [n for n in sys.modules if n == "asyncio" or n.startswith(("asyncio.", "memslab"))]
    saved = {n: sys.modules.pop(n) for n in names}
    try:
        import memslab
        from memslab import _async, _inventory, _picture, _pool  # noqa: F401 - the README's line

        s = memslab.MemSlab(16, 2)
        loaded = sorted(sys.modules)
        memslab.MemPool(((16, 2), (32, 2)))
        s.alloc()
        s.alloc_async(0)
        s.dump()
        s.used()
        eq([n for n in sys.modules if n not in loaded], [], "loaded by first use")
    finally:
        for n in [
            n for n in sys.modules if n == "asyncio" or n.startswith(("asyncio.", "memslab"))
        ]:
            del sys.modules[n]
        sys.modules.update(saved)
