"""What `import memslab` loads, and when the rest loads: asyncio only with the
first alloc_async(); the package and its engine at import; MemSlab's other
methods (_methods.py) on the first use of any of them. On a board every
module loaded from .mpy is heap for good (its code, its interned names)."""

import sys

import mptest
from mptest import eq, raises

if ".frozen" not in sys.path:  # a MICROPYPATH hides the frozen asyncio of the Unix port
    sys.path.append(".frozen")

ANY_ENGINE = (
    "test_import_memslab_does_not_import_asyncio",
    "test_import_memslab_loads_the_package_and_its_engine_only",
    "test_what_is_imported_at_boot_stays_loaded",
)


def _fresh(body):
    """Run body(memslab) on a memslab imported anew (the suite's own import and
    whatever earlier tests loaded are put aside, then back)."""
    names = [n for n in sys.modules if n == "asyncio" or n.startswith(("asyncio.", "memslab"))]
    saved = {n: sys.modules.pop(n) for n in names}
    try:
        import memslab

        body(memslab)
    finally:
        for n in [
            n for n in sys.modules if n == "asyncio" or n.startswith(("asyncio.", "memslab"))
        ]:
            del sys.modules[n]
        sys.modules.update(saved)


def _loaded():
    return sorted(n for n in sys.modules if n.startswith("memslab."))


def test_import_memslab_does_not_import_asyncio():
    def body(memslab):
        eq([n for n in sys.modules if n.startswith("asyncio")], [], "after import memslab")
        eq("memslab._async" in sys.modules, False, "memslab._async after import")
        s = memslab.MemSlab(16, 1)
        s.alloc()
        s.alloc_async(0)  # creating the coroutine loads the glue (and asyncio)
        eq("asyncio" in sys.modules, True, "asyncio after alloc_async()")

    _fresh(body)


def test_import_memslab_loads_the_package_and_its_engine_only():
    def body(memslab):
        engine = ["memslab._viper"] if memslab._viper is not None else []
        eq(_loaded(), engine, "modules after import memslab")
        s = memslab.MemSlab(16, 2)  # the first slab: the self-check runs and is dropped
        s.free(s.alloc())
        python = ["memslab._python"] if s.engine == "python" else []
        eq(_loaded(), sorted(engine + python), "modules after a first slab")
        eq(hasattr(memslab.MemSlab, "views"), False, "the methods are not loaded yet")
        s.views()  # any method beyond the hot path loads them all
        eq(_loaded(), sorted(engine + python + ["memslab._methods"]), "after views()")
        eq(hasattr(memslab.MemSlab, "views"), True, "views() is on the class now")
        e = raises(AttributeError, getattr, s, "no_such_method")
        eq(str(e), "'MemSlab' object has no attribute 'no_such_method'", "the usual text")

    _fresh(body)


def test_a_pool_keeps_its_class_and_its_pair_loaded_only():
    """MemPool() loads its builder and drops it: a working pool keeps _pool,
    its pair's module and the buffer check (_buffer), nothing more (not
    _errors: the words for bad input); its other methods load on the first
    use of any (_poolmore)."""

    def body(memslab):
        p = memslab.MemPool(((16, 4), (64, 2)), engine=mptest.ENGINE)
        gone = ("memslab._poolbuild", "memslab._poolmore", "memslab._errors")
        p.free(p.alloc(20))
        eq([n for n in gone if n in sys.modules], [], "loaded after MemPool(), alloc, free")
        eq(hasattr(memslab, "_poolbuild"), False, "the builder on the package")
        eq("memslab._pool" in sys.modules, True, "the pool's class stays")
        eq(len(p.views()), 6, "views()")  # any other method loads them all, onto the class
        eq("memslab._poolmore" in sys.modules and "views" in dir(type(p)), True, "after")
        raises(AttributeError, getattr, p, "no_such_method")

    _fresh(body)


def test_what_is_imported_at_boot_stays_loaded():
    """README, "Loading the rest at boot": after its import line and boot pool,
    the next MemPool(), alloc_async(), dump() and used() load nothing more (on a small
    heap they would otherwise take KBs each at that moment, and could fail)."""
    names = [n for n in sys.modules if n == "asyncio" or n.startswith(("asyncio.", "memslab"))]
    saved = {n: sys.modules.pop(n) for n in names}
    try:
        import memslab
        from memslab import _async, _inventory, _methods, _picture  # noqa: F401 - README

        memslab.MemPool(((16, 32), (64, 8)))  # the README's boot pool
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
