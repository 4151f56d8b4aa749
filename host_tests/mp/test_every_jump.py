"""A callback, or a thread, at each jump of alloc(), free() and used() in turn.

micropython.schedule callbacks run at jumps of bytecode (test_schedule.py
tells how), and the scheduler runs one pending callback per jump: a callback
that schedules itself again runs at the next one. at_jump(k, action) counts
k jumps that way and then acts, so trying every k from 0 to past the last
jump of a call lands the callback at each of that call's jumps in turn, the
same on every run. Issue 20: the python engine's alloc() took a block that a
callback had taken and written meanwhile for a broken list, and used() took
a list that callbacks (or threads) changed while it was walked for a broken
one, or listed blocks that were never allocated together.
"""

import micropython

import mptest
from mptest import eq
from test_schedule import MODES, flush, intact

COMPILED = True  # run on engine="compiled" too (run.py)


JUMPS = 48  # more than any alloc() below takes (its loops included)


def at_jump(k, action, times=1):
    """action() at the k-th jump from now, and at the `times - 1` jumps after
    it. Returns what settle() waits on."""
    left = [k, times]

    def tick(_):
        if left[0]:
            left[0] -= 1
        else:
            left[1] -= 1
            action()
        if left[1]:
            micropython.schedule(tick, 0)

    micropython.schedule(tick, 0)
    return left


def settle(left):
    """Jump until at_jump()'s callback is done (k was past the call's jumps)."""
    while left[1]:
        pass


def _fill(s, h, byte):
    """What an owner does with a block it just got: writes all of it."""
    o = h * s.block_size
    for i in range(o, o + s.block_size):
        s.buffer[i] = byte


def _interfere(s, mine, scene):
    """The callback's part: alloc() the head and write all of it (its first word
    too: in a free block that word is the link), then, by scene, free an older
    block of its own (the head moves on), free the new one again (the head is
    back where it was), or take a second block (the one the head linked to)."""
    h = s.alloc()
    _fill(s, h, 0xEE)
    if scene == "older":
        s.free(mine.pop(0))
        mine.append(h)
    elif scene == "back":
        s.free(h)
    else:
        mine.append(h)
        if scene == "two":
            h = s.alloc()
            _fill(s, h, 0xEE)
            mine.append(h)


def test_alloc_looks_again_when_a_callback_takes_the_block_it_checks():
    """Issue 20, item 2: the python engine checked the head's link, then a
    callback took that block and wrote its first word, and alloc() raised
    SlabCorruptedError on a sound slab. At every jump of alloc(), in every
    mode: alloc() hands out a block nobody else owns, or raises nothing."""
    for kw in MODES:
        s = mptest.slab(16, 8, **kw)  # one slab per mode: a compiled build costs
        for scene in ("keep", "older", "back", "two"):
            for k in range(JUMPS):
                mine = [s.alloc()]  # the callback's own block, for "older"
                left = at_jump(k, lambda: _interfere(s, mine, scene))
                try:
                    h = s.alloc()
                except Exception as e:  # noqa: BLE001 - re-raised, naming the jump
                    raise AssertionError("%r %s, jump %d: %r" % (kw, scene, k, e))
                settle(left)
                what = "%r %s, jump %d" % (kw, scene, k)
                intact(s, mine + [h], what)
                s.reset()


def test_free_with_a_callback_at_each_of_its_jumps():
    """free() is cut into at each of its jumps by a callback that allocs (and
    writes) the head, or frees a block of its own: every block stays owned
    once or free once."""
    for kw in MODES:
        s = mptest.slab(16, 8, **kw)
        for scene in ("keep", "older"):
            for k in range(JUMPS):
                mine = [s.alloc()]
                h = s.alloc()
                left = at_jump(k, lambda: _interfere(s, mine, scene))
                try:
                    s.free(h)
                except Exception as e:  # noqa: BLE001 - re-raised, naming the jump
                    raise AssertionError("%r %s, jump %d: %r" % (kw, scene, k, e))
                settle(left)
                intact(s, mine, "%r %s, jump %d" % (kw, scene, k))
                s.reset()


def test_a_pool_alloc_looks_again_when_a_callback_takes_the_block_it_checks():
    """The same through MemPool (its classes are slabs)."""
    from memslab import MemPool

    for kw in MODES:
        p = MemPool(((16, 4), (32, 4)), engine=mptest.ENGINE, **kw)
        s = p.slabs[0]
        for k in range(JUMPS):
            mine = [s.alloc()]
            left = at_jump(k, lambda: _interfere(s, mine, "older"))
            try:
                h = p.alloc(16)
            except Exception as e:  # noqa: BLE001 - re-raised, naming the jump
                raise AssertionError("%r, jump %d: %r" % (kw, k, e))
            settle(left)
            eq(p.size_of(h), 16, "%r, jump %d: the class that fits" % (kw, k))
            intact(s, mine + [h], "%r, jump %d" % (kw, k))
            s.reset()


# -- used() while callbacks alloc and free (issue 20, item 1)


def _ring(s):
    """Three blocks that a callback rotates: alloc the head, mark its first
    word, free the oldest (what a receive ring does)."""
    ring = [s.alloc(), s.alloc(), s.alloc()]
    seen = [sorted(ring)]  # every set of allocated blocks the slab has had

    def rotate():
        h = s.alloc()
        s.buffer[h * s.block_size] = 0xAB
        ring.append(h)
        s.free(ring.pop(0))
        seen.append(sorted(ring))

    return ring, seen, rotate


USED_JUMPS = 400  # more than used() takes: each round lands one jump later,
# until the first round whose callback comes after used() returned. Bounding
# the rounds by that, not by USED_JUMPS, keeps the test short on a board
# (k callbacks per round: 400 rounds were 80,000 callbacks per mode).


def test_used_is_a_true_snapshot_whatever_jump_a_callback_lands_at():
    for kw in MODES:
        s = mptest.slab(16, 16, **kw)
        ring, seen, rotate = _ring(s)
        for k in range(USED_JUMPS):
            del seen[:-1]
            left = at_jump(k, rotate)
            try:
                got = s.used()
            except Exception as e:  # noqa: BLE001 - re-raised, naming the jump
                raise AssertionError("%r, jump %d: %r" % (kw, k, e))
            past = left[1]  # used() returned before the callback ran
            settle(left)
            if got not in seen:
                raise AssertionError("%r, jump %d: used() %r, never the slab's" % (kw, k, got))
            if past:  # jumps 0..k-1 were all inside used(): each one was tried
                break
        else:
            raise AssertionError("%r: used() took more than %d jumps" % (kw, USED_JUMPS))


def test_used_is_a_true_snapshot_under_a_storm_of_callbacks():
    """The issue's monitor: a callback that re-arms at every jump and rotates
    the ring every `every`-th time, for the whole used() call."""
    for kw in MODES:
        s = mptest.slab(16, 16, **kw)
        ring, seen, rotate = _ring(s)
        for every in (1, 2, 5):
            for phase in range(every):
                del seen[:-1]
                run = [phase, True]

                def storm(_):
                    run[0] += 1
                    if run[0] % every == 0:
                        rotate()
                    if run[1]:
                        micropython.schedule(storm, 0)

                micropython.schedule(storm, 0)
                try:
                    got = s.used()
                finally:
                    run[1] = False
                    flush()
                if got not in seen:
                    raise AssertionError(
                        "%r every %d: used() %r, never the slab's" % (kw, every, got)
                    )


def test_used_on_a_threadsafe_slab_is_a_snapshot_while_a_thread_allocs():
    """Another thread allocs and frees while used() runs, at every jump of it
    in turn: a callback at jump k (and at the three after it: the head is back
    where it was after four rotations) hands a worker thread one rotation of
    the ring and waits until it is done, so it happens right there. Where
    used() holds its guard the worker could not get in, and the callback would
    wait for ever: there (the Unix lock tells its holder: enter() says nested)
    it asks nothing. Locks hand the turns over: no timing, no fairness."""
    _thread = mptest.thread_or_skip()
    from memslab import _guard

    if _guard.disable_irq is not None:
        raise mptest.SkipTest(
            "the guard is disable_irq here; only the Unix lock says who holds it"
        )
    for kw in ({"threadsafe": True}, {"threadsafe": True, "checked": True}):
        s = mptest.slab(16, 16, **kw)
        ring, seen, rotate = _ring(s)
        enter, exit = s._section
        go, done = _thread.allocate_lock(), _thread.allocate_lock()
        go.acquire()
        done.acquire()
        stop = []

        def worker():
            while True:
                go.acquire()  # a turn, or the end
                if stop:
                    break
                rotate()
                done.release()
            done.release()

        def ask():
            g = enter()
            exit(g)
            if not g:  # used() is outside its guard: the worker rotates now
                go.release()
                done.acquire()

        _thread.start_new_thread(worker, ())
        try:
            for k in range(USED_JUMPS):
                del seen[:-1]
                left = at_jump(k, ask, 4)
                try:
                    got = s.used()
                except Exception as e:  # noqa: BLE001 - re-raised, naming the jump
                    raise AssertionError("%r, jump %d: %r" % (kw, k, e))
                past = left[1] == 4  # used() returned before the first ask
                settle(left)
                if got not in seen:
                    raise AssertionError("%r, jump %d: used() %r, never the slab's" % (kw, k, got))
                if past:
                    break
            else:
                raise AssertionError("%r: used() took more than %d jumps" % (kw, USED_JUMPS))
        finally:
            stop.append(1)
            go.release()
            done.acquire()  # the worker has left
