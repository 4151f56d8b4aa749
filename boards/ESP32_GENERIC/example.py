"""memslab on an ESP32: a timer callback fills blocks, asyncio consumes them.

ESP32 interrupts reach Python as *soft* callbacks: Timer(hard=True) raises
ValueError and Pin.irq has no hard mode. The callback is scheduled and runs in
the main task between bytecodes, so it could allocate - but the same code as
the hard-IRQ version (boards/RPI_PICO/example.py) keeps it copy-paste
portable and free of GC pauses, so it is written allocation-free anyway.

threadsafe=True brackets alloc/free with machine.disable_irq(), which on the
ESP32 is a FreeRTOS critical section across both CPUs: needed once a
_thread also uses the slab. A soft callback cannot interrupt a viper-engine
alloc()/free() halfway (the scheduler never runs inside native code).

    mpremote cp -r memslab : + run boards/ESP32_GENERIC/example.py
"""

import asyncio
import micropython
from array import array
from machine import ADC, Pin, Timer

from memslab import MemSlab

try:  # tracebacks from a callback need it; the function is missing on some ports
    micropython.alloc_emergency_exception_buf(100)
except AttributeError:
    pass

SAMPLES = 16  # 16-bit samples per block
BLOCKS = 8
WR, RD, DROPPED = 0, 1, 2

slab = MemSlab(SAMPLES * 2, BLOCKS, threadsafe=True)
views = slab.views()  # one memoryview per block, built here, only indexed in the callback
ring = array("i", [0] * BLOCKS)  # at most BLOCKS indices in flight: never overflows
ctr = array("i", [0, 0, 0])  # each word has one writer (callback: WR, DROPPED; task: RD)
ready = asyncio.ThreadSafeFlag()
adc = ADC(Pin(34))  # any ADC1 pin


def on_tick(_timer):
    """Timer callback (soft on ESP32): alloc, fill, publish."""
    h = slab.alloc()
    if h is None:
        ctr[DROPPED] += 1
        return
    v = views[h]
    for i in range(SAMPLES):
        x = adc.read_u16()
        v[2 * i] = x & 0xFF
        v[2 * i + 1] = x >> 8
    ring[ctr[WR] % BLOCKS] = h
    ctr[WR] += 1
    ready.set()


async def consumer():
    while True:
        await ready.wait()
        while ctr[RD] != ctr[WR]:
            h = ring[ctr[RD] % BLOCKS]
            v = views[h]
            total = 0
            for i in range(SAMPLES):
                total += v[2 * i] | (v[2 * i + 1] << 8)
            print(
                "block %d mean %d (in use %d, dropped %d)"
                % (h, total // SAMPLES, slab.num_used, ctr[DROPPED])
            )
            slab.free(h)  # back to the free list, or straight to an alloc_async() waiter
            ctr[RD] += 1


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
