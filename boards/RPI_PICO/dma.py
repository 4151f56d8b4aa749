"""memslab blocks as DMA and uctypes targets on a Pico (`mpremote run boards/RPI_PICO/dma.py`).

A sensor record is written into one block through a uctypes struct laid over
the block's address, copied to a second block by the RP2040's DMA engine (32-bit
transfers, both addresses from slab.addressof()), then read back the same way.
Blocks are 4-byte aligned, so 32-bit DMA transfers need no checks.
"""

import rp2
import uctypes

from memslab import MemSlab

RECORD = {  # 8 bytes at the start of a block
    "seq": uctypes.UINT32 | 0,
    "temp_centi_c": uctypes.INT16 | 4,
    "flags": uctypes.UINT8 | 6,
}

slab = MemSlab(64, 8)


def record_at(h):
    return uctypes.struct(slab.addressof(h), RECORD, uctypes.LITTLE_ENDIAN)


with slab.block() as src, slab.block() as dst:
    rec = record_at(src)
    rec.seq = 7
    rec.temp_centi_c = -125
    rec.flags = 3

    dma = rp2.DMA()
    try:
        dma.config(
            read=slab.addressof(src),
            write=slab.addressof(dst),
            count=slab.block_size // 4,  # transfers, 4 bytes each (size=2)
            ctrl=dma.pack_ctrl(size=2, inc_read=True, inc_write=True),
            trigger=True,
        )
        while dma.active():
            pass
    finally:
        dma.close()

    copy = record_at(dst)
    print("copied by DMA: seq=%d temp=%d flags=%d" % (copy.seq, copy.temp_centi_c, copy.flags))
print("both blocks freed:", slab.num_used == 0)
