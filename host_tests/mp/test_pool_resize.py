"""A MemPool whose buffer was resized says so (RuntimeError) and uses nothing."""
# memslab-test: small-heap

import mptest
from memslab import MemPool
from mptest import raises


def pool(**kw):
    kw.setdefault("engine", mptest.ENGINE)
    return MemPool(((16, 4), (64, 2), (256, 1)), **kw)


def _grow_until_it_moves(buf):
    """Extend buf until the heap moves its bytes (bounded: it must move)."""
    import uctypes

    at = uctypes.addressof(buf)
    for _ in range(64):
        buf.extend(bytes(256))
        if uctypes.addressof(buf) != at:
            return
    raise AssertionError("the bytearray never moved: this test cannot show the guard")


def test_a_resized_buffer_is_reported_not_used():
    for own in (False, True):
        buf = None if own else bytearray(448)
        p = pool(buffer=buf)
        h = p.alloc(40)
        _grow_until_it_moves(p.buffer if own else buf)
        for call, args in (
            (p.addressof, (h,)),
            (p.view, (h,)),
            (p.size_of, (h,)),
            (p.views, ()),
            (p.used, ()),
            (p.dump, ()),
            (p.stats, ()),
            (p.reset_max, ()),
            (p.block, (16,)),
            (p.alloc_async, (16,)),
            (p.block_async, (16,)),
            (p.free, (h + 1,)),  # a refused free: the error path looks
            (p.free, (99,)),
            (p.alloc, (999,)),
            (p.slabs[1].view, (0,)),  # a class looks at the pool's bytes, not its slice
        ):
            e = raises(RuntimeError, call, *args)
            if "resized" not in str(e):
                raise AssertionError("%r: %s" % (call, e))
