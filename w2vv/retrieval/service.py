"""Search over HTTP: a FastAPI app around one ``Searcher`` (models and gallery loaded once).

- ``GET /api/search?q=…&k=10&mode=cm|cl|clm&lang=zh|en|ja``: the record ``search.py --json`` prints;
- ``POST /api/search`` with ``["query", …]`` or ``{"queries": […], "k": …, "mode": …, "lang": …}``:
  a list with a record per query (one that cannot be served carries its ``error``);
- ``GET /api/health``: 503 ``loading`` until the models, the gallery and every route are ready,
  then what is served;
- ``GET /``: the search page (``static/index.html``), ``GET /docs``: the API's page
  (``static/docs.html``, from ``/openapi.json``), neither with an external resource;
- ``GET /images/<id>``: the picture of a gallery image (``w2vv.retrieval.pictures``): the id is
  looked up among the gallery's ids, and the file opened is the one found at startup, never a
  path built from the request's text.

Every error, whatever its cause, is ``{"error": "<one line>"}`` with its status (400 bad request,
401 no token, 404, 405, 413 body too large, 415 not JSON, 503 loading or busy); an unexpected
exception is logged in one line and answered 500 in that shape. ``Limits`` holds the numbers.
Searches run in threads off the event loop (``Limits.search_threads`` at a time), so the page,
health and pictures are answered while searches queue; a request waits for a search slot at most
``queue_seconds`` (then 503 with ``Retry-After``) and takes searcher time for at most
``hold_seconds`` (a batch's later queries are then answered with an error). Requests waiting with
the same k, mode and lang are searched together, up to ``Limits.group`` queries
(``w2vv.retrieval.search_queue``).

This module holds the app, its routes and the records it answers; around it, ``guard`` (the
outer layer: hosts, token, headers, the log line), ``service_checks`` (the limits and the checks of
a request), ``service_files`` (the pages and the pictures) and ``service_state`` (what is served,
and getting it ready).
"""
import json
import math
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import List, Optional

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from ..errors import InputError
from .guard import LOOPBACK_HOSTS, Guard, token_cookie
from .search_queue import Busy, SearchQueue
from .searcher import Results
from .service_checks import (Limits, ServiceError, check_options, check_query_string, error_response, parse_batch,
                             printable, query_problem)
from .service_files import IMAGE_CACHE, OpenFileResponse, open_picture, read_page
from .service_state import State, find_pictures, service_info, warm_up


@dataclass
class Settings:
    limits: Limits = field(default_factory=Limits)
    token: Optional[str] = None        # required from every client when set (Authorization: Bearer, or cookie)
    allowed_hosts: tuple = LOOPBACK_HOSTS  # Host header names accepted; ("*",): any
    log_queries: bool = False          # log the queries' text (default: their length and language only)
    segmented: bool = False            # queries are already split into words by spaces
    debug: bool = False                # log tracebacks


# ---------------------------------------------------------------- records

def failed_record(query, lang, mode, error):
    """The record of a query not searched (any JSON value: a query that is no string is null in it)."""
    return clean_record(Results.failed(query if isinstance(query, str) else None, lang, mode, error).as_dict())


def clean_record(record):
    """A record JSON can carry: no lone surrogate, no NaN; a ``warning`` or an ``error``, not both."""
    for key in ("query", "text"):
        if isinstance(record.get(key), str):
            record[key] = printable(record[key])
    record["unknown"] = [printable(w) for w in record.get("unknown") or []]
    record["results"] = [dict(hit, score=hit["score"] if math.isfinite(hit["score"]) else None)
                         for hit in record.get("results", [])]
    # the searcher says "no word known" as both (search.py counts the query as not answered); the
    # service answers it, with no results and its warning
    if record.get("warning"):
        record["error"] = None
    return record


def describe(records, with_text):
    """The log's note of a search: how many queries, their lengths and languages (or their text)."""
    if with_text:
        return json.dumps([r["query"] for r in records], ensure_ascii=True)[:300]
    langs = sorted({r["lang"] for r in records if r["lang"]})
    lengths = [len(r["query"]) if isinstance(r["query"], str) else 0 for r in records]
    head = f"{len(records)} queries" if len(records) > 1 else "query"
    return f"{head} of {'/'.join(map(str, lengths[:5]))}{'/…' if len(lengths) > 5 else ''} chars " \
           f"{','.join(langs) or '-'}" + (f" ({sum(1 for r in records if r['error'])} failed)"
                                          if any(r["error"] for r in records) else "")


# ---------------------------------------------------------------- the API's description

class Error(BaseModel):
    error: str


class Hit(BaseModel):
    id: str
    score: Optional[float]


class Record(BaseModel):
    query: Optional[str]
    lang: Optional[str]
    mode: Optional[str]
    text: Optional[str]
    unknown: List[str]
    warning: Optional[str]
    error: Optional[str]
    results: List[Hit]


class BatchRequest(BaseModel):
    queries: List[str]
    k: int = 10
    mode: Optional[str] = None
    lang: Optional[str] = None


ERRORS = {
    400: "a bad request: what is wrong, in one line",
    401: "a token is required (Authorization: Bearer <token>)",
    404: "not found",
    405: "method not allowed",
    413: "the body is too large",
    415: "the body is not JSON",
    503: "loading, or busy: try again after Retry-After seconds",
}


def responses(*codes):
    return {code: {"model": Error, "description": ERRORS[code]} for code in codes}


# ---------------------------------------------------------------- searching

class Searches:
    """The searches of the service: its searcher (503 while loading), the queue of search slots and
    the records of a request's queries."""

    def __init__(self, state, settings):
        self.state, self.settings, self.limits = state, settings, settings.limits
        self.queue = SearchQueue(self.search_now, self.limits.search_threads, self.limits.group,
                                 self.limits.queue_seconds)

    def searcher(self):
        if not self.state.ready:
            raise ServiceError(503, f"the service is loading ({self.state.phase}); try again shortly",
                               {"Retry-After": "1"})
        return self.state.searcher

    def search_now(self, queries, key):
        """Records for ``queries`` (checked already: strings), a group at a time for ``hold_seconds``."""
        (k, mode, lang), s, limits = key, self.state.searcher, self.limits
        deadline = time.monotonic() + limits.hold_seconds
        out = []
        for start in range(0, len(queries), limits.group):
            if time.monotonic() > deadline:
                message = (f"not searched: this request's search time ({limits.hold_seconds:g} s) ran out; "
                           f"send fewer queries at once")
                out += [failed_record(q, lang, mode, message) for q in queries[start:]]
                break
            group = queries[start:start + limits.group]
            out += [r.as_dict() for r in s.search_many(group, k, lang, mode, self.settings.segmented)]
        return out

    async def records(self, queries, k, mode, lang, request):
        """A record per query (those that cannot be searched with their ``error``)."""
        self.searcher()  # 503 while loading
        problems = [query_problem(q, self.limits) for q in queries]
        todo = [q for q, problem in zip(queries, problems) if problem is None]
        found = []
        if todo:
            try:
                found = await self.queue.search(todo, (k, mode, lang))
            except Busy:
                raise ServiceError(503, f"busy: no search slot free within {self.limits.queue_seconds:g} s; "
                                        f"try again", {"Retry-After": "1"}) from None
        found = iter(found)
        records = [clean_record(next(found)) if problem is None else failed_record(q, lang, mode, problem)
                   for q, problem in zip(queries, problems)]
        request.state.log = describe(records, self.settings.log_queries)
        return records


# ---------------------------------------------------------------- the app

def create_app(state, settings=None, log=print):
    """The ASGI app serving ``state`` (a ``State``; loading until ``state.set_ready``)."""
    settings = settings or Settings()
    # FastAPI's OpenTelemetry off: the service logs its own line per request, and asking whether a
    # tracer is configured took an eighth of the event loop's time per request
    app = FastAPI(title="W2VV image search", docs_url=None, redoc_url=None, version="1",
                  description="Search an image gallery with a Chinese, Japanese or English sentence. "
                              "Every error is {\"error\": \"<one line>\"} with its status.",
                  telemetry=dict(tracing=False, metrics=False, logs=False, operation_spans=False))
    searches = Searches(state, settings)
    drop_validation_errors(app)
    add_error_handlers(app)
    add_pages(app, settings)
    add_health(app, state, settings.limits)
    add_search_routes(app, searches)
    add_picture_route(app, searches)
    return Guard(app, settings, log)


def drop_validation_errors(app):
    """The OpenAPI document without FastAPI's 422 answers and their schemas: a parameter of the wrong type is a 400."""
    build = app.openapi

    def openapi():
        spec = build()
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            spec.get("components", {}).get("schemas", {}).pop(name, None)
        return spec
    app.openapi = openapi


def add_error_handlers(app):
    """Every error as ``{"error": "<one line>"}``; a parameter of the wrong type is a 400, not a 422."""
    @app.exception_handler(ServiceError)
    async def service_error(request, exc):
        return error_response(exc.status, str(exc), exc.headers)

    @app.exception_handler(InputError)
    async def input_error(request, exc):
        return error_response(400, printable(str(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc):
        message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # the methods of every route of the path, not only the first one's
            methods = {m for route in request.app.routes if route.matches(request.scope)[0] != Match.NONE
                       for m in getattr(route, "methods", ())}
            headers = dict(headers or {}, Allow=", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set()))))
        return error_response(exc.status_code, message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, exc):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body", "path"))
        return error_response(400, printable(f"{where}: {first.get('msg', 'invalid request')}"))


def add_pages(app, settings):
    """``/``, the search page (which sets the token's cookie), and ``/docs``, the API's page."""
    page, page_csp = read_page("index.html")
    docs, docs_csp = read_page("docs.html")

    @app.get("/", include_in_schema=False)
    async def index(request: Request):
        response = Response(page, media_type="text/html; charset=utf-8", headers={
            "Content-Security-Policy": page_csp, "Cache-Control": "no-cache"})
        if request.scope["state"].get("set_cookie"):
            response.set_cookie("w2vv_token", token_cookie(settings.token), httponly=True, samesite="strict")
        return response

    @app.get("/docs", include_in_schema=False)
    async def docs_page():
        return Response(docs, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": docs_csp, "Cache-Control": "no-cache"})


def add_health(app, state, limits):
    @app.get("/api/health", responses=responses(503),
             summary="200 when ready (what is served), 503 'loading' until then")
    async def health():
        if not state.ready:
            return JSONResponse({"status": "loading", "phase": state.phase,
                                 "error": f"the service is loading ({state.phase})"},
                                status_code=503, headers={"Retry-After": "1"})
        return health_report(state, limits)


def health_report(state, limits):
    """What a ready service serves, for ``/api/health``."""
    s = state.searcher
    return dict(status="ok", **state.info, images=len(s.gallery), pictures=state.pictures.count,
                index=s.gallery.kind, languages=s.languages,
                default_mode={lang: s.default_mode(lang) for lang in s.languages},
                ready_seconds=round(state.ready_seconds, 2),
                limits=dict(body_bytes=limits.body_bytes, query_chars=limits.query_chars, batch=limits.batch,
                            k=limits.k, queue_seconds=limits.queue_seconds, hold_seconds=limits.hold_seconds,
                            search_threads=limits.search_threads))


def add_search_routes(app, searches):
    """``GET /api/search`` (one query: 400 when it cannot be served) and ``POST /api/search`` (a batch)."""
    limits = searches.limits

    @app.get("/api/search", response_model=Record, responses=responses(400, 503),
             summary="the top-k images of one query")
    async def search_one(request: Request,
                         q: str = Query(..., description="the sentence: Chinese (raw), Japanese or English"),
                         k: int = Query(10, description=f"results, 1 to {limits.k}"),
                         mode: Optional[str] = Query(None, description="route: cm | cl | clm"),
                         lang: Optional[str] = Query(None, description="language: zh | en | ja (default: detected)")):
        check_query_string(request.scope.get("query_string", b""))
        check_options(k, mode, lang, limits)
        record = (await searches.records([q], k, mode, lang, request))[0]
        if record["error"]:  # one query that cannot be served: a bad request
            raise ServiceError(400, record["error"])
        return JSONResponse(record)

    @app.post("/api/search", response_model=List[Record], responses=responses(400, 413, 415, 503),
              summary="the top-k images of each query of a batch",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                  "anyOf": [{"type": "array", "items": {"type": "string"}},
                            BatchRequest.model_json_schema()]}}}}})
    async def search_batch(request: Request):
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.body_bytes:
                raise ServiceError(413, f"the body is over {limits.body_bytes} bytes")
            chunks.append(chunk)
        queries, k, mode, lang = parse_batch(b"".join(chunks), request.headers.get("content-type", ""), limits)
        return JSONResponse(await searches.records(queries, k, mode, lang, request))


def add_picture_route(app, searches):
    """``GET /images/<id>``: the picture found at startup of a gallery image, with caching headers."""
    state = searches.state

    @app.get("/images/{image_id}", include_in_schema=False)
    async def image(image_id: str, request: Request):
        if not state.ready:
            searches.searcher()
        position = state.searcher.gallery.position.get(image_id)
        where = state.pictures.path(position) if position is not None else None
        opened = open_picture(*where[:2]) if where else None
        if opened is None:
            raise ServiceError(404, "no picture of this image")
        f, st, head = opened
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        headers = {"Cache-Control": IMAGE_CACHE, "ETag": etag, "Last-Modified": formatdate(st.st_mtime, usegmt=True)}
        if etag_matches(request.headers.get("if-none-match", ""), etag):
            if f is not None:
                f.close()
            return Response(status_code=304, headers=headers)
        return OpenFileResponse(f, st, head, where[2], headers)


def etag_matches(if_none_match, etag):
    """Whether an ``If-None-Match`` header (a list of tags, weak ones ``W/"…"``, or ``*``) names ``etag``."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return etag in tags or "*" in tags


__all__ = ["Limits", "Settings", "State", "create_app", "find_pictures", "service_info", "warm_up"]
