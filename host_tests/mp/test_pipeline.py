"""boards/UNIX/pipeline.py (ISR stand-in thread -> ring -> asyncio consumer) runs clean."""

import sys

import mptest
from mptest import eq


class SkipTest(Exception):
    pass


def _pipeline():
    for d in ("../../boards/UNIX", "boards/UNIX"):  # from host_tests/mp, or the repo root
        if d not in sys.path:
            sys.path.append(d)
    mptest.thread_or_skip()  # the pipeline's consumer is a thread
    try:
        import pipeline
    except ImportError as e:
        raise SkipTest("pipeline needs the Unix port and the repo tree: %s" % e)
    return pipeline


def test_pipeline_every_event_consumed_or_dropped():
    p = _pipeline()
    events, consumed, dropped, bad, in_use = p.run(400, period_us=200, engine=mptest.ENGINE)
    eq(consumed + dropped, events, "every event consumed or dropped")
    eq(bad, 0, "blocks with wrong content")
    eq(in_use, 0, "blocks still in use")
    if not consumed:
        raise AssertionError("nothing reached the consumer")
