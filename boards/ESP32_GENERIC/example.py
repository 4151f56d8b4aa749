"""memslab on an ESP32: a timer callback fills blocks, asyncio consumes them.

ESP32 interrupts reach Python as *soft* callbacks: Timer(hard=True) raises
ValueError and Pin.irq has no hard mode. The callback is scheduled and runs in
the main task between bytecodes, so it could allocate - but the same code as
the hard-IRQ version (boards/RPI_PICO/example.py) keeps it copy-paste
portable and free of GC pauses, so it is written allocation-free anyway.

threadsafe=True brackets alloc/free (and the queue's put/get) with
machine.disable_irq(), which on the ESP32 is a FreeRTOS critical section
across both CPUs: needed once a _thread also uses the slab or the queue. A
soft callback cannot interrupt a viper-engine alloc()/free()/put()/get()
halfway (the scheduler never runs inside native code).

    mpremote cp -r memslab : + run boards/ESP32_GENERIC/example.py
"""

import asyncio
import micropython
from array import array
from machine import ADC, Pin, Timer

from memslab import BlockQueue, MemSlab

try:  # tracebacks from a callback need it; the function is missing on some ports
    micropython.alloc_emergency_exception_buf(100)
except AttributeError:
    pass

SAMPLES = 16  # 16-bit samples per block
BLOCKS = 8

slab = MemSlab(SAMPLES * 2, BLOCKS, threadsafe=True)
views = slab.views()  # one memoryview per block, built here, only indexed in the callback
q = BlockQueue(slab)  # room for every block: a put never fails for want of room
dropped = array("i", [0])  # written by the callback only
adc = ADC(Pin(34))  # any ADC1 pin


def on_tick(_timer):
    """Timer callback (soft on ESP32): alloc, fill, put."""
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
    timer = Timer(0)
    timer.init(freq=50, mode=Timer.PERIODIC, callback=on_tick)  # soft: no hard=True on ESP32
    try:
        await asyncio.sleep(10)
    finally:
        timer.deinit()
        task.cancel()
    print("max blocks in use:", slab.max_used, "of", BLOCKS)


asyncio.run(main())
