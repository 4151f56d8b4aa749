"""MicroPython side of host_tests/test_model.py: one slab, driven op by op from stdin.

Not a test module (no test_ prefix): test_model.py starts one persistent
`micropython model_driver.py` and writes one JSON list per line:

    ["new", engine, block_size, num_blocks, checked]
    ["alloc"]
    ["free", kind, value]   kind: int | big (value is a decimal string) | none | str | float | bool
    ["write", h, hexbytes]  copy bytes to the start of view(h)
    ["read", h]             the whole block, as hex
    ["reset_max"]
    ["async", timeout_ms]   asyncio.run(slab.alloc_async(timeout_ms))
    ["poke", h, value]      write a 32-bit LE word at the start of block h (raw, via slab.buffer)
    ["pokeb", offset, hex]  write raw bytes at a byte offset of slab.buffer
    ["pool", engine, classes, checked]   a MemPool instead (counters are the pool's)
    ["palloc", n]           pool.alloc(n)  (n: an int, or kind+value as for free)
    ["pfree", kind, value]  pool.free(value)

and reads back one JSON line per op: [result, exception type name or null,
num_used, num_free, max_used].
"""

import json
import sys
from binascii import hexlify, unhexlify

from memslab import MemPool, MemSlab

slab = None
pool = None


def value(kind, v):
    if kind == "big":
        return int(v)
    if kind == "none":
        return None
    if kind == "float":
        return float(v)
    if kind == "bool":
        return bool(v)
    if kind == "str":
        return str(v)
    return v


def handle(op):
    global slab, pool
    name = op[0]
    if name == "new":
        pool = None
        slab = MemSlab(op[2], op[3], engine=op[1], checked=op[4])
        return slab.engine
    if name == "pool":
        slab = None
        pool = MemPool([tuple(c) for c in op[2]], engine=op[1], checked=op[3])
        return pool.slabs[0].engine
    if name == "palloc":
        return pool.alloc(value(op[1], op[2]))
    if name == "pfree":
        return pool.free(value(op[1], op[2]))
    if name == "alloc":
        return slab.alloc()
    if name == "free":
        kind, v = op[1], op[2]
        if kind == "big":
            v = int(v)
        elif kind == "none":
            v = None
        elif kind == "float":
            v = float(v)
        elif kind == "bool":
            v = bool(v)
        elif kind == "str":
            v = str(v)
        return slab.free(v)
    if name == "write":
        data = unhexlify(op[2])
        slab.view(op[1])[: len(data)] = data
        return None
    if name == "read":
        o = op[1] * slab.block_size
        return hexlify(bytes(slab.buffer[o : o + slab.block_size])).decode()
    if name == "reset_max":
        return slab.reset_max()
    if name == "async":
        import asyncio

        return asyncio.run(slab.alloc_async(op[1]))
    if name == "poke":
        o = op[1] * slab.block_size
        slab.buffer[o : o + 4] = (op[2] & 0xFFFFFFFF).to_bytes(4, "little")
        return None
    if name == "pokeb":
        data = unhexlify(op[2])
        slab.buffer[op[1] : op[1] + len(data)] = data
        return None
    raise ValueError("unknown op %r" % (name,))


def main():
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        op = json.loads(line)
        exc = None
        res = None
        try:
            res = handle(op)
        except Exception as e:  # noqa: BLE001 - the type is the result
            exc = e.__class__.__name__
            if exc == "SlabCorruptedError":
                res = str(e)
        if pool is not None:
            out = [res, exc, pool.num_used, pool.num_free, 0]
        elif slab is None:
            out = [res, exc, 0, 0, 0]
        else:
            out = [res, exc, slab.num_used, slab.num_free, slab.max_used]
        sys.stdout.write(json.dumps(out) + "\n")


main()
