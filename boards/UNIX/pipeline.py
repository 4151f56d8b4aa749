"""ISR -> asyncio pipeline on the Unix port: boards/RPI_PICO/example.py without a board.

A thread stands in for the interrupt source: it calls the handler with the
heap locked, as a hard IRQ would. The handler takes a block, fills it through
a cached view and puts it on a BlockQueue; an asyncio task takes the blocks in
order, checks and frees them.

    MICROPYPATH=modules:.frozen .venv/bin/micropython boards/UNIX/pipeline.py [events]
"""

import sys

if ".frozen" not in sys.path:  # a MICROPYPATH hides the frozen asyncio
    sys.path.append(".frozen")

import _thread
import asyncio
import micropython
import time
from array import array

from memslab import BlockQueue, MemSlab

BLOCK = 32
# Counters shared by the handler and the consumer: one writer per word.
SEQ, DROPPED = 0, 1


class Pipeline:
    def __init__(self, blocks=4, engine="auto"):
        # threadsafe: the handler (another thread here, an IRQ on a board) and
        # the consumer both change the free list and the queue.
        self.slab = MemSlab(BLOCK, blocks, threadsafe=True, engine=engine)
        self.views = self.slab.views()  # built now: the handler only indexes it
        self.q = BlockQueue(self.slab)  # guarded like the slab; room for every block
        self.ctr = array("i", [0, 0])
        self.handler = self._handler  # bound method made once: an IRQ may not create it

    def _handler(self, _source=None):
        """The interrupt handler: allocates nothing."""
        ctr = self.ctr
        seq = ctr[SEQ]
        ctr[SEQ] = seq + 1
        h = self.slab.alloc()
        if h is None:  # consumer behind: drop this sample, never block
            ctr[DROPPED] += 1
            return
        v = self.views[h]
        for i in range(BLOCK):
            v[i] = (seq + i) & 0xFF
        self.q.put(h)  # wakes the consumer

    async def consume(self, done):
        """Take blocks until the source is done and the queue empty; returns (consumed, bad)."""
        q = self.q
        consumed = bad = 0
        while not (done[0] and len(q) == 0):
            h = await q.get_async(50)  # None after 50 ms with nothing queued: look at `done`
            if h is None:
                continue
            v = self.views[h]
            seq = v[0]
            for i in range(BLOCK):
                if v[i] != (seq + i) & 0xFF:
                    bad += 1
                    break
            self.slab.free(h)
            consumed += 1
        return consumed, bad


def source(p, events, period_us, done):
    """The stand-in for a timer interrupt: calls the handler with the heap locked."""
    for _ in range(events):
        micropython.heap_lock()
        try:
            p.handler()
        finally:
            micropython.heap_unlock()
        time.sleep_us(period_us)
    done[0] = 1


def run(events=2000, blocks=4, period_us=50, engine="auto"):
    p = Pipeline(blocks, engine)
    done = [0]

    async def main():
        _thread.start_new_thread(source, (p, events, period_us, done))
        return await p.consume(done)

    consumed, bad = asyncio.run(main())
    dropped = p.ctr[DROPPED]
    print(
        "pipeline: engine=%s events=%d consumed=%d dropped=%d bad=%d in_use=%d max_used=%d"
        % (p.slab.engine, events, consumed, dropped, bad, p.slab.num_used, p.slab.max_used)
    )
    return events, consumed, dropped, bad, p.slab.num_used


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
