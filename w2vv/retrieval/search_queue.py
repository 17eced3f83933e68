"""The service's queue of searches: requests wait here for one of the search slots, and a slot that
comes free takes the first waiting request together with the later ones that ask for the same
``(k, mode, lang)``, up to ``group`` queries in all, into one call (``Searcher.search_many``: the
text model runs once for all of them, which on 2 cores answers about twice the queries a second of
one call per request). A request alone, or one of ``group`` queries or more, is searched alone."""
import asyncio
import collections

import anyio


class Busy(Exception):
    """No search slot came free within ``queue_seconds``."""


class _Waiting:
    """One request in the queue: its key and queries; ``started`` is set when a slot takes it,
    ``done`` holds its records."""
    __slots__ = ("key", "queries", "started", "done")

    def __init__(self, key, queries, loop):
        self.key, self.queries = key, queries
        self.started, self.done = loop.create_future(), loop.create_future()


def _settle(future, result=None, error=None):
    if future.done():  # its request was cancelled (the client went away)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class SearchQueue:
    """``await queue.search(queries, key)``: the records of ``queries``, from
    ``run(queries, key)`` called in a worker thread, ``slots`` calls at a time."""

    def __init__(self, run, slots, group, queue_seconds):
        self.run, self.group, self.queue_seconds = run, group, queue_seconds
        self.free = slots   # calls that may start now: at most ``slots`` run at once
        self.waiting = collections.deque()
        self.running = set()   # the tasks of the calls under way (a reference keeps them alive)

    async def search(self, queries, key):
        """The records of ``queries``; ``Busy`` when no slot took them within ``queue_seconds``."""
        me = _Waiting(key, list(queries), asyncio.get_running_loop())
        self.waiting.append(me)
        self._dispatch()
        try:
            if not me.started.done():
                await self._wait_for_slot(me)
            return await me.done
        except asyncio.CancelledError:  # the client went away, maybe just as a call took the request:
            me.done.cancel()            # its records are not wanted (nor an error left unretrieved)
            raise

    async def _wait_for_slot(self, me):
        try:
            await asyncio.wait_for(asyncio.shield(me.started), self.queue_seconds)
        except asyncio.TimeoutError:
            pass
        finally:
            if not me.started.done():  # timed out, or cancelled: out of the queue
                self.waiting.remove(me)
        if not me.started.done():
            raise Busy

    def _dispatch(self):
        while self.free and self.waiting:
            self.free -= 1
            task = asyncio.ensure_future(self._call(self._take()))
            self.running.add(task)
            task.add_done_callback(self.running.discard)

    def _take(self):
        """The first waiting request and the later ones of the same key that fit in ``group`` queries."""
        first = self.waiting.popleft()
        batch, size = [first], len(first.queries)
        for other in list(self.waiting):
            if size >= self.group:
                break
            if other.key == first.key and size + len(other.queries) <= self.group:
                self.waiting.remove(other)
                batch.append(other)
                size += len(other.queries)
        for request in batch:
            request.started.set_result(None)
        return batch

    async def _call(self, batch):
        try:
            records = await anyio.to_thread.run_sync(self.run, [q for r in batch for q in r.queries], batch[0].key)
        except Exception as e:
            for request in batch:
                _settle(request.done, error=e)
        except BaseException:  # this task cancelled (the service stopping): so are its requests
            for request in batch:
                request.done.cancel()
            raise
        else:
            start = 0
            for request in batch:
                _settle(request.done, records[start:start + len(request.queries)])
                start += len(request.queries)
        finally:
            self.free += 1
            self._dispatch()
