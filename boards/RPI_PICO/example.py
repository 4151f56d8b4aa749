"""memslab on a Raspberry Pi Pico: a hard timer interrupt fills blocks, asyncio consumes them.

The pattern to copy:
1. Build everything before the interrupt starts: the slab, its cached views,
   the BlockQueue.
2. The handler (hard IRQ: no heap) takes a block with slab.alloc(), fills it
   through views()[h] and puts it on the queue. If the slab is empty it counts
   a drop and returns: a handler never waits.
3. An asyncio task takes the blocks in order (`async for h in q`), processes
   each and frees it.

threadsafe=True because the handler and the task both change the free list
and the queue: on rp2 it brackets their calls with machine.disable_irq()/
enable_irq(). The queue is guarded like its slab.

    mpremote cp -r memslab : + run boards/RPI_PICO/example.py
"""

import asyncio
import micropython
from array import array
from machine import ADC, Timer

from memslab import BlockQueue, MemSlab

try:  # tracebacks from an IRQ need it; the function is missing on some ports
    micropython.alloc_emergency_exception_buf(100)
except AttributeError:
    pass

SAMPLES = 16  # 16-bit samples per block
BLOCKS = 8

# engine="compiled": built once, here, so its pair may be compiled for this
# slab (faster in the IRQ; it keeps about 1.2 KB of machine code and compiles
# at start-up). Where it cannot be, slab.engine says "viper": the same results.
slab = MemSlab(SAMPLES * 2, BLOCKS, engine="compiled", threadsafe=True)
views = slab.views()  # one memoryview per block, built here, only indexed in the IRQ
q = BlockQueue(slab)  # room for every block: a put never fails for want of room
dropped = array("i", [0])  # written by the IRQ only
adc = ADC(4)  # the on-chip temperature sensor


def on_tick(_timer):
    """Hard IRQ handler: alloc, fill, put. No heap allocation anywhere."""
    h = slab.alloc()
    if h is None:
        dropped[0] += 1
        return
    v = views[h]
    for i in range(SAMPLES):
        x = adc.read_u16()
        v[2 * i] = x & 0xFF
        v[2 * i + 1] = x >> 8
    q.put(h)  # O(1), heap-free; wakes the waiting consumer


async def consumer():
    async for h in q:  # oldest first; waits (no polling) while the queue is empty
        v = views[h]
        total = 0
        for i in range(SAMPLES):
            total += v[2 * i] | (v[2 * i + 1] << 8)
        print(
            "block %d mean %d (in use %d, queued %d, dropped %d)"
            % (h, total // SAMPLES, slab.num_used, len(q), dropped[0])
        )
        slab.free(h)  # back to the free list, or straight to an alloc_async() waiter


async def main():
    task = asyncio.create_task(consumer())
    timer = Timer(freq=50, mode=Timer.PERIODIC, callback=on_tick, hard=True)
    try:
        await asyncio.sleep(10)
    finally:
        timer.deinit()
        task.cancel()
    print("max blocks in use:", slab.max_used, "of", BLOCKS)


asyncio.run(main())
