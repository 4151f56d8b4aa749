"""memslab demo on the Unix port (`make demo`): alloc, free, the picture, the counters."""

from memslab import MemSlab

slab = MemSlab(16, 6)  # six 16-byte blocks in one 96-byte bytearray
print("engine:", slab.engine)

packets = []
for text in (b"hello", b"slab", b"world", b"!"):
    h = slab.alloc()
    if h is None:  # alloc() returns None when every block is in use
        raise MemoryError("slab full")
    slab.view(h)[: len(text)] = text
    packets.append(h)
    print("alloc ->", h, text)

slab.free(packets[1])
slab.free(packets[3])
print(
    "freed blocks %d and %d (the free list now starts at %d)"
    % (packets[1], packets[3], packets[3])
)
print()
print(slab.dump())
print()
print("in use:", slab.used(), " stats:", slab.stats())
with slab.block() as h:  # freed again when the with-block ends, also on an exception
    print("block() ->", h, "(LIFO: the block freed last comes back first)")
print("num_used=%d num_free=%d max_used=%d" % (slab.num_used, slab.num_free, slab.max_used))
try:
    slab.free(packets[0])
    slab.free(packets[0])  # the second free of the same block
except ValueError as e:
    print("double free caught:", e)
