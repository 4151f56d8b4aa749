"""MemPool: size classes over slabs, for messages whose size varies.

    pool = MemPool(((16, 32), (64, 16), (256, 4)))  # (block_size, num_blocks) per class
    h = pool.alloc(40)      # from the smallest class that fits and has a free block
    pool.view(h)            # memoryview of the whole block (64 bytes here)
    pool.free(h)

What Linux's kmalloc caches and lwIP's memp pools do, built from MemSlab and
keeping its promises: alloc(n)/free(h) allocate nothing (hard-IRQ safe),
a rejected call changes nothing, one contiguous buffer for everything.

A handle is a small int that says its class: class c's blocks are numbered
from first[c], the total of the blocks of the smaller classes. So 0..31 are
the 16-byte blocks above, 32..47 the 64-byte ones, 48..51 the 256-byte ones.
Loaded on the first MemPool(): `import memslab` does not pay for it.
"""

from ._errors import LOCKED, check_buffer, check_geometry, check_timeout


class MemPool:
    def __init__(self, classes, buffer=None, *, engine="auto", checked=False, threadsafe=False):
        from . import MemSlab  # the package is loaded by now

        classes = _check_classes(classes)
        total = 0
        for bs, n in classes:
            total += bs * n
        owner = buffer
        if buffer is None:
            owner = buffer = bytearray(total)
        else:
            buffer = _check_pool_buffer(buffer, total)
        mv = memoryview(buffer)
        slabs = []
        first = []
        o = blocks = 0
        for bs, n in classes:  # one slab per class, each over its part of the buffer
            part = mv[o : o + bs * n]
            slabs.append(
                MemSlab(bs, n, part, engine=engine, checked=checked, threadsafe=threadsafe)
            )
            first.append(blocks)
            o += bs * n
            blocks += n
        self.slabs = tuple(slabs)
        self.sizes = tuple(bs for bs, _ in classes)
        self.first = tuple(first)
        self.num_blocks = blocks
        self._r = range(blocks)  # r[h]: the small int h, also for a long-int handle
        self.buffer = buffer
        self._owner = owner
        self._classes = len(classes)
        # Set per instance, as MemSlab does: closures read what they need from
        # cells, where a method would look each attribute up on the instance.
        self.alloc, self.free = _pair(self)

    # -- the hot path: closures set per instance by _pair() (below); these two
    # methods, shadowed by them, are here for help() and editors --

    def alloc(self, n):
        """A handle to a block of at least n bytes, or None when no class can serve it.

        Takes the smallest class that fits and has a free block, falling back
        to larger classes. n larger than the largest class is a ValueError.
        Heap-free: legal in a hard IRQ.
        """
        return self.alloc(n)

    def free(self, h):
        """Give block h back; a bad h raises TypeError/ValueError and changes nothing."""
        return self.free(h)

    # -- the rest --

    def view(self, h):
        """A memoryview of the whole block (size_of(h) bytes). Allocates."""
        c = self._class_of(h)
        try:
            return self.slabs[c].view(self._r[h] - self.first[c])
        except ValueError:  # checked mode: a free block, said in the class's numbers
            return self._not_allocated(h, c, "view")

    def size_of(self, h):
        """The block size of h's class."""
        return self.sizes[self._class_of(h)]

    def addressof(self, h):
        c = self._class_of(h)
        return self.slabs[c].addressof(self._r[h] - self.first[c])

    @property
    def num_used(self):
        t = 0
        for s in self.slabs:
            t += s.num_used
        return t

    @property
    def num_free(self):
        return self.num_blocks - self.num_used

    def stats(self):
        """Totals in blocks and bytes, and each class's MemSlab.stats() under "classes"."""
        per = [s.stats() for s in self.slabs]
        out = {"num_blocks": self.num_blocks, "num_used": self.num_used}
        out["num_free"] = self.num_blocks - out["num_used"]
        for k in ("allocated_bytes", "free_bytes", "max_allocated_bytes"):
            out[k] = sum(p[k] for p in per)
        out["classes"] = per
        return out

    def alloc_async(self, n, timeout_ms=None):
        """Awaitable: a handle to a block of at least n bytes, waiting while none is free.

        Waits for a block of the smallest class that fits (first come, first
        served among that class's waiters); None on timeout. n and timeout_ms
        are checked at the call, as MemSlab.alloc_async does.
        """
        check_timeout("alloc_async", timeout_ms)
        if n.__class__ is not int or n < 0 or n > self.sizes[-1]:
            self._bad_size(n)
        return self._alloc_async(n, timeout_ms)

    async def _alloc_async(self, n, timeout_ms):
        h = self.alloc(n)
        if h is not None:
            return h
        c = 0
        while self.sizes[c] < n:
            c += 1
        h = await self.slabs[c].alloc_async(timeout_ms)
        return None if h is None else self.first[c] + h

    def dump(self, limit=48):
        """Every class's picture, with its handle range."""
        lines = [
            "MemPool: %d classes, %d blocks, %d used"
            % (self._classes, self.num_blocks, self.num_used)
        ]
        for c in range(self._classes):
            s = self.slabs[c]
            lines.append(
                "class %d: %d-byte blocks, handles %d..%d"
                % (c, self.sizes[c], self.first[c], self.first[c] + s.num_blocks - 1)
            )
            lines.append(s.dump(limit))
        return "\n".join(lines)

    def __repr__(self):
        return "<MemPool %s used=%d/%d>" % (
            "+".join("%dx%d" % (s.num_blocks, s.block_size) for s in self.slabs),
            self.num_used,
            self.num_blocks,
        )

    # -- slow paths --

    def _class_of(self, h):
        """The class of handle h; TypeError/ValueError (nothing changed) if h is none."""
        if h.__class__ is not int or h < 0 or h >= self.num_blocks:
            return self._bad_handle(h)
        c = self._classes - 1
        while h < self.first[c]:
            c -= 1
        return c

    def _bad_handle(self, h):
        exc = TypeError if h.__class__ is not int else ValueError
        try:
            if exc is TypeError:
                hint = " (alloc() returns None when no block fits)" if h is None else ""
                msg = "takes a handle (int) from alloc(), got %s%s" % (type(h).__name__, hint)
            else:
                msg = "(%d): no such block; this pool has handles 0..%d" % (h, self.num_blocks - 1)
        except MemoryError:
            raise LOCKED[exc]
        raise exc("MemPool " + msg)

    def _freed_twice(self, h, c):
        self._not_allocated(self.first[c] + h, c, "free")  # h: the index in class c

    def _not_allocated(self, h, c, verb):
        try:
            msg = "MemPool %s(%d): that %d-byte block is not allocated (already freed, "
            msg = (msg + "or never from alloc())") % (verb, h, self.sizes[c])
        except MemoryError:
            raise LOCKED[ValueError]
        raise ValueError(msg)

    def _bad_size(self, n):
        try:
            if n.__class__ is not int:
                exc = TypeError
                msg = "alloc(n): n is an int number of bytes, got %s" % type(n).__name__
            else:
                exc = ValueError
                msg = (
                    "alloc(%d): n is 0..%d, the largest class; add a class or split the message"
                    % (
                        n,
                        self.sizes[-1],
                    )
                )
        except MemoryError:
            raise LOCKED[TypeError if n.__class__ is not int else ValueError]
        raise exc(msg)


def _pair(pool):
    """The pool's (alloc, free): closures over the classes' tuples.

    Two limits keep a call off the heap: closed-over names plus arguments at
    most five (closure_call), and a frame of at most 11 words (locals, cells,
    stack). So the values each closure needs sit in one tuple, `k`.
    """
    sizes = pool.sizes + (1 << 30,)  # a sentinel: the fitting loop stops by itself
    ka = (pool.sizes[-1], pool._classes - 1, tuple(s.alloc for s in pool.slabs), pool.first)
    kf = (pool.num_blocks, pool._classes - 1, tuple(s.free for s in pool.slabs), pool.first)

    def alloc(n):
        k = ka  # (largest size, last class, each class's alloc, first handles)
        if n.__class__ is not int or n < 0 or n > k[0]:
            return pool._bad_size(n)
        c = 0
        while sizes[c] < n:  # the smallest class that fits
            c += 1
        while True:  # ... or the next larger one with a free block
            h = k[2][c]()
            if h is not None:
                return k[3][c] + h
            if c == k[1]:
                return None
            c += 1

    def free(h):
        k = kf  # (number of handles, last class, each class's free, first handles)
        if h.__class__ is not int or h < 0 or h >= k[0]:
            return pool._bad_handle(h)
        # h's class: the last whose first handle is <= h. MemPool._class_of
        # walks the same way; a call to it here costs ~80 ns of a ~670 ns pair.
        c = k[1]
        while h < k[3][c]:
            c -= 1
        h = pool._r[h] - k[3][c]  # the index in class c's slab (a small int)
        if not _freed(k[2][c], h):
            pool._freed_twice(h, c)

    return alloc, free


def _freed(free, h):
    """free(h), a class's free; False if the slab refused h as not allocated.

    A function of its own because its frame must stay small: a call's frame of
    more than 11 words (a try counts three) comes from the heap, every call.
    """
    try:
        free(h)
    except ValueError:
        return False
    return True


def _check_pool_buffer(buffer, total):
    try:
        return check_buffer(buffer, total, total, 1)
    except ValueError as e:
        if "holds" not in str(e):
            raise
        raise ValueError(
            "MemPool(classes, buffer): the classes need %d bytes, the buffer holds fewer; "
            "pass a larger buffer (%s)" % (total, str(e).split(" but ")[0])
        )


def _check_classes(classes):
    """((block_size, num_blocks), ...) -> a list sorted by block_size; errors say what to fix."""
    try:
        classes = [tuple(c) for c in classes]
    except TypeError:
        raise TypeError(
            "MemPool(classes): a tuple of (block_size, num_blocks) pairs, e.g. ((16, 32), (64, 8))"
        )
    if not classes:
        raise ValueError("MemPool(classes): at least one (block_size, num_blocks) class")
    for c in classes:
        if len(c) != 2:
            raise TypeError(
                "MemPool(classes): each class is (block_size, num_blocks), got %r" % (c,)
            )
        check_geometry(c[0], c[1])  # every class checked before any buffer is touched
    classes.sort()
    for i in range(1, len(classes)):
        if classes[i][0] == classes[i - 1][0]:
            raise ValueError(
                "MemPool(classes): two classes of %d-byte blocks; merge them" % classes[i][0]
            )
    return classes
