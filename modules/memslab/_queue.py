"""BlockQueue: a FIFO of block handles, from an interrupt to a task or core 1.

    q = BlockQueue(slab)        # or BlockQueue(pool): room for every handle it has
    q.put(h)                    # hard IRQ, soft IRQ, thread, task: O(1), heap-free
    h = q.get()                 # the oldest handle, or None
    h = await q.get_async(timeout_ms=None)   # also: async for h in q
    h = q.get_wait(timeout_ms=None)          # a thread or core 1 (threadsafe owner)

Loaded by the first BlockQueue(): `import memslab` does not pay for it.

The state is one array('i'): seven header words, then a link per handle and
the sentinel's (4 bytes per handle):
    0 TAIL   the newest queued handle; N (the sentinel) when empty
    1 COUNT  handles queued now: len(q)
    2 N      the owner's num_blocks: the capacity, so a put never lacks room
    3 FLAGS  viper pair: 1 a 64-bit port, 2 a checked slab (read its bitmap
             at OWN), 4 a checked pool (ask it)
    4 BOX    viper pair: its box's value word minus the state's address
    5 WAIT   tasks and threads waiting in get_async/get_wait (word 5, as
             in a slab's state: _waitq counts waiters there)
    6 OWN    viper pair, checked slab: its bitmap's address minus the state's
    7 + h    handle h's link: 0 not queued; j + 1 when j follows h (N + 1:
             h is the newest); -1 handed to a waiting task, not yet taken
    7 + N    the sentinel's link: the oldest handle + 1 (N + 1: empty)
BOX and OWN are kept mod 2**32 (within 32 signed bits on a 64-bit port).
The queue is a ring through the sentinel, so neither put nor get tests for
"empty" before changing links, and each handle's link says whether it is
queued: a second put of a queued handle is refused in every mode.

Waiting is a slab's waiting, reused: to _waitq and _async the queue looks like
a slab (_Side) whose alloc() is get() and whose free(h) is put(h). put() with
waiters hands h straight to the oldest one (first come, first served) and
sets its ThreadSafeFlag, which a hard IRQ may do; a waiter cancelled or timed
out after the hand-off puts h back, so no handle is lost.
"""

from array import array
from micropython import const

from . import MemSlab

# The state's words (see above; the pairs keep copies: test_layout.py compares).
_QTAIL = const(0)
_QCOUNT = const(1)
_QN = const(2)
_QFLAGS = const(3)
_QBOX = const(4)
_WAIT = const(5)  # the slab layout's WAIT: _waitq counts waiters there
_QOWN = const(6)
_QHEADER = const(7)  # words before link 0
_HANDED = const(-1)  # a handle's link while a waiter holds it and has not run
_BITS = const(48)  # byte offset of a checked slab's bitmap in its state (_layout.BITS)


class BlockQueue:
    """A FIFO of the block handles of one MemSlab or MemPool (see the module doc)."""

    engine = "viper"  # "python": the bytecode pair
    threadsafe = False
    _section = MemSlab._section  # (enter, exit) that guard nothing (set if threadsafe)
    _r = range(0x3FFFFFFF)  # _r[h]: the small int h, for any int h in range

    def __init__(self, owner):
        if isinstance(owner, MemSlab):
            one = owner
        elif owner.__class__.__name__ == "MemPool":
            one = owner.slabs[0]  # the classes share engine, checked and threadsafe
        else:
            raise TypeError(
                "BlockQueue(owner): owner is a MemSlab or a MemPool, got %s" % type(owner).__name__
            )
        n = owner.num_blocks
        s = array("i", bytes(4 * (_QHEADER + n + 1)))
        s[_QTAIL] = n
        s[_QN] = n
        s[_QHEADER + n] = n + 1  # the sentinel links to itself: empty
        self._owner = owner
        self._s = s
        self._L = memoryview(s)[_QHEADER:]
        checked = getattr(owner, "checked", one.checked)
        get, put = self._pair(getattr(owner, "engine", one.engine), checked)
        if getattr(owner, "threadsafe", one.threadsafe):
            from . import _guard

            self.threadsafe = True
            get, put, self._section = _guard.guarded(get, put)
        self.get = get
        self.put = put
        self._side = _Side(self)

    # put(h) and get(): closures set per instance in __init__ (no method lookup);
    # the stubs (__init__.pyi) document them.

    def __len__(self):
        return self._s[_QCOUNT]

    def get_async(self, timeout_ms=None):
        """Awaitable: the oldest handle, waiting while the queue is empty.

        None if timeout_ms (None: wait forever) passes first. Waiting tasks are
        served first come, first served; a task cancelled while waiting never
        loses a handle. Allocates: call it from tasks, not IRQs.
        """
        _check_timeout("get_async", timeout_ms)
        try:
            from . import _async  # loaded by the first waiting task: asyncio with it
        except ImportError as e:
            from . import _explain

            raise ImportError(_explain.glue_message(e))
        return _taken(_async.alloc(self._side, timeout_ms), self._L)

    def __aiter__(self):
        return self

    def __anext__(self):
        return self.get_async()  # `async for h in q` never ends: break out of it

    def get_wait(self, timeout_ms=None):
        """Block this thread (or core 1) until a handle is queued; None on timeout.

        Needs a threadsafe owner. Waiting threads and get_async tasks share one
        first-come, first-served order; the thread polls every millisecond.
        """
        _check_timeout("get_wait", timeout_ms)
        if not self.threadsafe:
            raise ValueError(
                "get_wait() needs a threadsafe owner, MemSlab(..., threadsafe=True): "
                "the waiting thread and whoever puts share the queue"
            )
        from . import _waitq

        h = _waitq.alloc_wait(self._side, timeout_ms)
        if h is not None:
            self._L[h] = 0  # handed over by put(): the thread's now
        return h

    def clear(self):
        """Empty the queue; return its handles, oldest first. They stay allocated:
        free them, or pass them to slab.reset(owned) (which knows nothing of
        queues). Allocates: not in IRQs."""
        out = []
        while True:
            h = self.get()
            if h is None:
                return out
            out.append(h)

    # -- slow paths, called by the pairs: each raises or hands h on --

    def _refuse(self, h):
        """put(h) said no: raise the error that says why (prebuilt under heap_lock)."""
        n = self._s[_QN]
        if h.__class__ is int and 0 <= h < n and h is not self._r[h]:
            # an int of the right value that is not a small int (array('q')): put that
            return self.put(self._r[h])  # (a guard lets its own holder in again)
        exc = TypeError if h.__class__ is not int else ValueError
        try:
            if exc is TypeError:
                msg = "(h): h is a block handle (int), got %s" % type(h).__name__
            elif not 0 <= h < n:
                msg = "(%d): no such block; the owner's handles are 0..%d" % (h, n - 1)
            elif self._L[h]:
                msg = "(%d): block %d is queued already (or handed to a waiting task); put it once"
                msg %= (h, h)
            else:
                msg = "(%d): block %d is free; put only a block you allocated" % (h, h)
        except MemoryError:  # the heap is locked (a hard IRQ): the type, no details
            raise exc("BlockQueue.put: refused (no details: heap locked)")
        raise exc("BlockQueue.put" + msg)

    def _handoff(self, h):
        # put(h) with waiters: h goes to the oldest, marked handed until it runs
        # (a second put of h is refused meanwhile). Allocation-free: IRQ-safe.
        h = self._r[h]
        self._L[h] = _HANDED
        w = self._side._waiters
        if w is not None:  # always: WAIT counts its waiters (the test narrows w for pyright)
            w.give(h)

    def _owned(self, h):
        """Whether the (checked) owner counts handle h allocated. Heap-free."""
        h = self._r[h]
        o = self._owner
        if isinstance(o, MemSlab):
            s = o
        else:  # a pool: h's class, and h's index in that class's slab
            c = len(o.first) - 1
            while h < o.first[c]:
                c -= 1
            s = o.slabs[c]
            h -= o.first[c]
        return (s._st[_BITS + (h >> 3)] >> (h & 7)) & 1  # the slab's bit (checked mode)

    def _pair(self, engine, checked):
        if engine != "python":
            try:  # where viper runs and its checks pass; else the python pair
                from . import _queue_viper

                slab = self._owner if isinstance(self._owner, MemSlab) else None
                pair = _queue_viper.make(self, self._s, checked, slab)
                if pair is None and _queue_viper.RECOMPILED is None and _recompiled(_queue_viper):
                    pair = _queue_viper.make(self, self._s, checked, slab)
                if pair is not None:
                    return pair
            except Exception:  # noqa: BLE001, S110 - no viper here: the python pair
                pass
        self.engine = "python"
        from . import _queue_python  # loaded only where it runs

        return _queue_python.pair(self, self._s, self._L, checked)


def _recompiled(mod):
    """Compile the queue's pair again from source (_vipersrc.QUEUE), for this
    queue and every later one, where the loaded machine code failed its
    trial: frozen ARMv6-M code the freezer misplaced (see
    _selfcheck.recompile). Tried once; True if it compiled, and
    mod.RECOMPILED says what happened."""
    try:
        from . import _vipersrc
    except Exception as e:  # noqa: BLE001 - no memory: the python pair
        mod.RECOMPILED = "no _vipersrc: %s: %s" % (type(e).__name__, e)
        return False
    return _vipersrc.recompile(mod, "QUEUE")


def _check_timeout(verb, timeout_ms):
    # None (wait forever) or an int up to _errors.MAX_TIMEOUT_MS; _errors says what is wrong.
    if timeout_ms is not None and (timeout_ms.__class__ is not int or timeout_ms > 0x1FFFFFFF):
        from . import _errors

        _errors.check_timeout(verb, timeout_ms)


async def _taken(aw, lk):
    h = await aw
    if h is not None:
        lk[h] = 0  # handed over by put(): the task's now
    return h


class _Side:
    """The queue as _waitq and _async see a slab: alloc() is get(), free(h) puts
    back a handle that was handed to a waiter which will not take it."""

    _waiters = None  # _waitq.Waiters, made by the first waiter
    _free_raw = None  # Waiters.give() then calls free()

    def __init__(self, q):
        self._q = q
        self.alloc = q.get
        self._sw = q._s
        self._section = q._section

    def free(self, h):
        self._q._L[h] = 0
        self._q.put(h)  # also inside the guard (Waiters.give): it lets its holder in
