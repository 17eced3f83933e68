"""The service's queue of searches (``w2vv.retrieval.search_queue``) around a stand-in for the
searcher: waiting requests of the same (k, mode, lang) are searched in one call, up to ``group``
queries; each gets its own records back; a full queue answers Busy; a request that goes away leaves
the others whole; an error reaches every request of its call, and the queue goes on."""
import asyncio
import threading

import pytest

from w2vv.retrieval.search_queue import Busy, SearchQueue


class Searcher:
    """Records ``query@key``; every call waits for ``gate`` and is kept in ``calls``."""

    def __init__(self, fail_on=None):
        self.calls, self.gate, self.fail_on = [], threading.Event(), fail_on

    def __call__(self, queries, key):
        self.calls.append((list(queries), key))
        assert self.gate.wait(30)
        if self.fail_on in queries:
            raise RuntimeError(f"cannot search {self.fail_on}")
        return [f"{q}@{key}" for q in queries]


async def started(queue, n):
    """Until ``n`` requests wait in the queue."""
    while len(queue.waiting) < n:
        await asyncio.sleep(0.005)


async def held(searcher, group=16, queue_seconds=30):
    """A queue of one slot, and the search of ``q0`` that holds it (waiting for the searcher's gate)."""
    queue = SearchQueue(searcher, slots=1, group=group, queue_seconds=queue_seconds)
    first = asyncio.ensure_future(queue.search(["q0"], "A"))
    while not searcher.calls:
        await asyncio.sleep(0.005)
    return queue, first


ASKS = [("q1", "A"), ("q2", "A"), ("b1", "B"), ("q3", "A"), ("b2", "B"), ("q4", "A")]  # (query, key)


def test_waiting_requests_of_one_key_are_searched_together_and_each_gets_its_own_records():
    searcher = Searcher()

    async def main():
        queue, first = await held(searcher)
        later = [asyncio.ensure_future(queue.search([q, q + "'"], key)) for q, key in ASKS]
        await started(queue, len(ASKS))
        searcher.gate.set()
        return await first, await asyncio.gather(*later)

    first, later = asyncio.run(main())
    assert first == ["q0@A"]
    assert later == [[f"{q}@{key}", f"{q}'@{key}"] for q, key in ASKS]
    assert searcher.calls == [(["q0"], "A"),
                              (["q1", "q1'", "q2", "q2'", "q3", "q3'", "q4", "q4'"], "A"),
                              (["b1", "b1'", "b2", "b2'"], "B")]


def test_a_call_takes_at_most_group_queries_and_a_large_request_goes_alone():
    searcher = Searcher()

    async def main():
        queue, first = await held(searcher, group=4)
        singles = [asyncio.ensure_future(queue.search([f"s{i}"], "A")) for i in range(3)]
        large = asyncio.ensure_future(queue.search([f"L{i}" for i in range(5)], "A"))
        more = [asyncio.ensure_future(queue.search([f"s{i}"], "A")) for i in range(3, 6)]
        await started(queue, 7)
        searcher.gate.set()
        await asyncio.gather(first, large, *singles, *more)
        return large.result()

    assert asyncio.run(main()) == [f"L{i}@A" for i in range(5)]
    assert [len(queries) for queries, _ in searcher.calls] == [1, 4, 5, 2]  # s0-s3 | L0-L4 | s4, s5
    assert searcher.calls[1][0] == ["s0", "s1", "s2", "s3"]


def test_no_slot_within_queue_seconds_is_busy_and_leaves_the_queue():
    searcher = Searcher()

    async def main():
        queue, first = await held(searcher, queue_seconds=0.1)
        with pytest.raises(Busy):
            await queue.search(["q1"], "A")
        assert not queue.waiting
        searcher.gate.set()
        assert await first == ["q0@A"]
        assert await queue.search(["q2"], "A") == ["q2@A"]            # the slot free again

    asyncio.run(main())


def test_a_request_that_goes_away_leaves_the_others_whole():
    searcher = Searcher()

    async def main():
        queue, first = await held(searcher)
        gone = asyncio.ensure_future(queue.search(["gone"], "A"))
        stays = asyncio.ensure_future(queue.search(["stays"], "A"))
        await started(queue, 2)
        gone.cancel()                                                  # waiting: out of the queue
        await asyncio.sleep(0.01)
        assert [r.queries for r in queue.waiting] == [["stays"]]
        first.cancel()                                                 # searching: its call goes on
        searcher.gate.set()
        assert await stays == ["stays@A"]
        assert first.cancelled() and gone.cancelled()

    asyncio.run(main())
    assert searcher.calls == [(["q0"], "A"), (["stays"], "A")]


def test_an_error_reaches_every_request_of_its_call_and_the_queue_goes_on():
    searcher = Searcher(fail_on="bad")

    async def main():
        queue, first = await held(searcher)
        together = [asyncio.ensure_future(queue.search([q], "A")) for q in ("ok", "bad")]
        await started(queue, 2)
        searcher.gate.set()
        await first
        for request in together:
            with pytest.raises(RuntimeError, match="cannot search bad"):
                await request
        assert await queue.search(["again"], "A") == ["again@A"]

    asyncio.run(main())


def test_two_slots_search_two_calls_at_once():
    searcher = Searcher()

    async def main():
        queue = SearchQueue(searcher, slots=2, group=16, queue_seconds=30)
        calls = [asyncio.ensure_future(queue.search([q], "A")) for q in ("q0", "q1", "q2")]
        while len(searcher.calls) < 2:
            await asyncio.sleep(0.005)
        in_flight = len(searcher.calls)
        searcher.gate.set()
        return in_flight, await asyncio.gather(*calls)

    in_flight, answers = asyncio.run(main())
    assert in_flight == 2 and answers == [["q0@A"], ["q1@A"], ["q2@A"]]
