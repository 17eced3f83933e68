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
"""
import base64
import hashlib
import ipaddress
import json
import math
import os
import re
import secrets
import time
import traceback
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import List, Optional

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..errors import InputError
from ..languages import LANGUAGES
from .pictures import Pictures, open_checked, picture_folders
from .search_queue import Busy, SearchQueue
from .searcher import MODES

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
IMAGE_CACHE = "public, max-age=86400"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass
class Limits:
    """What one request may ask for, and how long it may wait and search."""
    body_bytes: int = 1 << 20          # a POST body (413 past it)
    query_chars: int = 500             # one query
    batch: int = 100                   # queries of one POST
    k: int = 1000                      # results per query
    queue_seconds: float = 10.0        # waiting for a search slot (503 past it)
    hold_seconds: float = 10.0         # searcher time of one request: a batch's later queries are not searched
    search_threads: int = 2            # searches running at once
    group: int = 16                    # queries searched in one call: of a batch, or of waiting requests


@dataclass
class Settings:
    limits: Limits = field(default_factory=Limits)
    token: Optional[str] = None        # required from every client when set (Authorization: Bearer, or cookie)
    allowed_hosts: tuple = LOOPBACK_HOSTS  # Host header names accepted; ("*",): any
    log_queries: bool = False          # log the queries' text (default: their length and language only)
    segmented: bool = False            # queries are already split into words by spaces
    debug: bool = False                # log tracebacks


class ServiceError(Exception):
    """An error answered ``{"error": message}`` with ``status``."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.headers = status, headers


class State:
    """What the service serves: nothing until ``ready`` (the health check answers ``loading``)."""

    def __init__(self):
        self.searcher = self.pictures = None
        self.phase = "starting"
        self.started = time.monotonic()
        self.ready_seconds = None
        self.info = {}

    @property
    def ready(self):
        return self.ready_seconds is not None

    def set_ready(self, searcher, pictures, info=None):
        self.searcher, self.pictures, self.info = searcher, pictures, dict(info or {})
        self.ready_seconds = time.monotonic() - self.started
        self.phase = "ready"


def find_pictures(searcher, images=(), collection=None):
    """The ``Pictures`` of the searcher's gallery: in the folders ``images`` named, then in
    ``ImageData/`` of the collections of the root (``w2vv.retrieval.pictures``)."""
    return Pictures(searcher.gallery.ids, picture_folders(searcher.root, searcher.gallery_dir, images, collection,
                                                          getattr(searcher, "imageset", None)))


def service_info(searcher):
    """What the health check reports of the loaded searcher: the models (relative to the root),
    the gallery, and the version."""
    def relative(path):
        path = os.path.abspath(str(path))
        root = os.path.abspath(searcher.root)
        return os.path.relpath(path, root) if path.startswith(root + os.sep) else os.path.basename(path)
    return dict(version=version(), models={lang: relative(m.folder) for lang, m in sorted(searcher.models.items())},
                gallery=relative(searcher.gallery_dir),
                imageset=relative(searcher.imageset) if getattr(searcher, "imageset", None) else None)


def version():
    """The project's commit (``git describe``), or ``unknown`` outside a git checkout."""
    import subprocess
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=os.path.dirname(STATIC),
                              capture_output=True, text=True, timeout=5)
        return done.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def warm_up(searcher, log=None):
    """Run every route each loaded language can take once, so that the first request is not slower:
    jieba's dictionary, the model's traced function, the English sentences of the CL route (read
    from their cache or predicted) and the fusion weight."""
    log = log or (lambda message: None)
    for lang in searcher.languages:
        modes = ["cm"] + ([] if lang == "en" or "en" not in searcher.languages else ["cl"])
        if searcher.default_mode(lang) == "clm":
            modes.append("clm")
        for mode in modes:
            for batch in ([LANGUAGES[lang].example] * 2, [LANGUAGES[lang].example]):
                record = searcher.search_many(batch, k=1, lang=lang, mode=mode)[0]
                if record.error and getattr(searcher, "cl_problem", None):
                    log(f"{searcher.cl_problem}; {lang} queries take the cm route")
                    break
            if getattr(searcher, "cl_problem", None):
                break


# ---------------------------------------------------------------- requests

def printable(text):
    """``text`` with lone surrogates (which no UTF-8 answer can carry) as U+FFFD."""
    return text if not _SURROGATE.search(text) else _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def query_problem(query, limits):
    """Why ``query`` (any JSON value) cannot be searched, or None."""
    if not isinstance(query, str):
        return f"a query must be a string, not {_json_type(query)}"
    bad = _SURROGATE.search(query)
    if bad:
        return f"the query is not valid Unicode: a lone surrogate U+{ord(bad.group()):04X} at character {bad.start()}"
    if "\x00" in query:
        return "the query contains a NUL character"
    if not query.strip():
        return "empty query"
    if len(query) > limits.query_chars:
        return f"query of {len(query)} characters: at most {limits.query_chars}"
    return None


def _json_type(value):
    return {dict: "an object", list: "an array", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def check_options(k, mode, lang, limits):
    if isinstance(k, bool) or not isinstance(k, int):
        raise ServiceError(400, f"k must be an integer, not {_json_type(k)}")
    if not 1 <= k <= limits.k:
        raise ServiceError(400, f"k = {k}: must be between 1 and {limits.k}")
    if mode is not None and mode not in MODES:
        raise ServiceError(400, f"mode {printable(str(mode))[:40]!r} unknown (expected one of {', '.join(MODES)})")
    if lang is not None and lang not in LANGUAGES:
        raise ServiceError(400, f"lang {printable(str(lang))[:40]!r} unknown "
                                f"(expected one of {', '.join(LANGUAGES)})")


def failed_record(query, lang, mode, error):
    text = printable(query) if isinstance(query, str) else None
    return dict(query=text, lang=lang, mode=mode, text=text, unknown=[], warning=None, error=error, results=[])


def clean_record(record):
    """A record JSON can carry: no lone surrogate, no NaN."""
    for key in ("query", "text"):
        if isinstance(record.get(key), str):
            record[key] = printable(record[key])
    record["unknown"] = [printable(w) for w in record.get("unknown") or []]
    record["results"] = [dict(hit, score=hit["score"] if math.isfinite(hit["score"]) else None)
                         for hit in record.get("results", [])]
    return record


def parse_batch(body, content_type, limits):
    """(queries, k, mode, lang) of a POST body (bytes)."""
    media = content_type.split(";")[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise ServiceError(415, f"content-type {printable(media)[:60]!r}: send JSON (application/json)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ServiceError(400, f"the body is not UTF-8 (byte {e.start})") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ServiceError(400, "the body is nested too deeply") from None
    except ValueError as e:
        raise ServiceError(400, f"the body is not JSON: {str(e).splitlines()[0][:120]}") from None
    if isinstance(value, list):
        queries, options = value, {}
    elif isinstance(value, dict):
        unknown = sorted(set(value) - {"queries", "k", "mode", "lang"})
        if unknown:
            raise ServiceError(400, f"body: unknown field {printable(unknown[0])[:40]!r} "
                                    f"(expected queries, k, mode, lang)")
        if "queries" not in value:
            raise ServiceError(400, "body: field 'queries' missing (a list of strings)")
        queries, options = value["queries"], value
        if not isinstance(queries, list):
            raise ServiceError(400, f"body: 'queries' must be a list of strings, not {_json_type(queries)}")
    else:
        raise ServiceError(400, f"body: expected a list of queries or an object with 'queries', "
                                f"not {_json_type(value)}")
    if not queries:
        raise ServiceError(400, "no query given")
    if len(queries) > limits.batch:
        raise ServiceError(400, f"{len(queries)} queries: at most {limits.batch} in one request")
    k, mode, lang = options.get("k", 10), options.get("mode"), options.get("lang")
    for name, value in (("mode", mode), ("lang", lang)):
        if value is not None and not isinstance(value, str):
            raise ServiceError(400, f"{name} must be a string, not {_json_type(value)}")
    check_options(k, mode, lang, limits)
    return queries, k, mode, lang


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


# ---------------------------------------------------------------- responses

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


def error_response(status, message, headers=None):
    return JSONResponse({"error": message}, status_code=status, headers=headers)


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


CHUNK = 1 << 16  # bytes of a picture read at a time


def open_picture(path, folder):
    """(the open file, its ``os.stat_result``, its first ``CHUNK`` bytes) of a picture that
    ``open_checked`` accepts, else None; the file closed (None) when that chunk is all of it.
    Called on the event loop: a local picture in the page cache takes tens of microseconds, while a
    hop to a worker thread and back waits behind the searches (docs/service.md#speed)."""
    opened = open_checked(path, folder)
    if opened is None:
        return None
    f, st = opened
    try:
        head = f.read(min(CHUNK, st.st_size))
    except OSError:
        f.close()
        return None
    if len(head) >= st.st_size:
        f.close()
        f = None
    return f, st, head


class OpenFileResponse(Response):
    """A picture: its first chunk, then the rest of the open file streamed (``open_picture``)."""

    def __init__(self, f, st, head, media_type, headers):
        super().__init__(None, 200, headers, media_type)
        self.f, self.head = f, head
        self.headers["content-length"] = str(st.st_size)

    async def __call__(self, scope, receive, send):
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            chunk = self.head
            while True:
                more = self.f is not None and bool(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if not more:
                    break
                chunk = await anyio.to_thread.run_sync(self.f.read, CHUNK)
        finally:
            if self.f is not None:
                self.f.close()


def _sha256(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def read_page(name):
    """(HTML, Content-Security-Policy) of a page of ``static/``: its inline script and style allowed
    by their hashes, nothing else but this origin's API and pictures."""
    with open(os.path.join(STATIC, name), encoding="utf-8") as f:
        page = f.read()
    scripts = [_sha256(s) for s in re.findall(r"<script>(.*?)</script>", page, re.S)]
    styles = [_sha256(s) for s in re.findall(r"<style>(.*?)</style>", page, re.S)]
    csp = (f"default-src 'none'; script-src {' '.join(scripts) or chr(39) + 'none' + chr(39)}; "
           f"style-src {' '.join(styles) or chr(39) + 'none' + chr(39)}; img-src 'self'; connect-src 'self'; "
           f"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    return page, csp


API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"), (b"cross-origin-resource-policy", b"same-origin")]


# ---------------------------------------------------------------- the outer layer

def host_allowed(host, allowed):
    """Whether a Host header (``name[:port]``, ``[v6]:port``) names an allowed host: one of
    ``allowed``, or an IP address (DNS rebinding needs a name)."""
    if "*" in allowed:
        return True
    host = host.strip().lower()
    if host.startswith("["):
        name = host[1:host.find("]")] if "]" in host else ""
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if not name:
        return False
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return name.rstrip(".") in allowed


class Guard:
    """The outermost layer: the Host check, the token, the body size announced, security headers
    on every answer, one log line per request, and any exception turned into a JSON 500."""

    def __init__(self, app, settings, log):
        self.app, self.settings, self.log = app, settings, log
        self.cookie = f"w2vv_token={settings.token}" if settings.token else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = [None]
        scope.setdefault("state", {})

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", API_CSP.encode()))
                message = dict(message, headers=headers)
            await send(message)

        try:
            refusal = self.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception as e:  # noqa: BLE001  (never a traceback to the client, one line in the log)
            first_line = printable(str(e)).splitlines()[0][:200] if str(e) else ""
            scope["state"]["log"] = f"error: {type(e).__name__}: {first_line}"
            if self.settings.debug:
                traceback.print_exc()
            if status[0] is None:
                await error_response(500, "internal error (logged)")(scope, receive, send_with_headers)
        finally:
            self.log_line(scope, status[0], started)

    def refusal(self, scope):
        """The error response of a request refused before the app sees it, or None."""
        headers = {}
        for name, value in scope.get("headers", []):
            headers.setdefault(name.lower(), value.decode("latin-1"))
        if not host_allowed(headers.get(b"host", ""), self.settings.allowed_hosts):
            return error_response(400, f"Host {printable(headers.get(b'host', ''))[:80]!r} not allowed "
                                       f"(serve.py --allowed_hosts)")
        if self.settings.token and not self.authorized(scope, headers):
            return error_response(401, "a token is required: open the page at /?token=<token>, or send "
                                       "'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})
        length = headers.get(b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                return error_response(400, "Content-Length is not a number")
            if int(length) > self.settings.limits.body_bytes:
                return error_response(413, f"a body of {int(length)} bytes: at most "
                                           f"{self.settings.limits.body_bytes}")
        return None

    def authorized(self, scope, headers):
        token = self.settings.token
        given = headers.get(b"authorization", "")
        if given[:7].lower() == "bearer " and secrets.compare_digest(given[7:].strip().encode(), token.encode()):
            return True
        for part in headers.get(b"cookie", "").split(";"):
            if secrets.compare_digest(part.strip().encode(), self.cookie.encode()):
                return True
        if scope["path"] == "/" and scope.get("method") == "GET":  # /?token=…: sets the cookie
            for pair in scope.get("query_string", b"").decode("latin-1").split("&"):
                if pair.startswith("token=") and secrets.compare_digest(
                        pair[6:].encode("latin-1"), token.encode("latin-1", "replace")):
                    scope["state"]["set_cookie"] = True
                    return True
        return False

    def log_line(self, scope, status, started):
        client = scope.get("client")
        target = scope.get("path", "")
        if self.settings.log_queries and scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        extra = scope.get("state", {}).get("log")
        target = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", printable(target))[:300]
        self.log(f"{client[0] if client else '-'} {scope.get('method')} {target} {status or '-'} "
                 f"{1000 * (time.perf_counter() - started):.1f}ms" + (f" {extra}" if extra else ""))


# ---------------------------------------------------------------- the app

def create_app(state, settings=None, log=print):
    """The ASGI app serving ``state`` (a ``State``; loading until ``state.set_ready``)."""
    settings = settings or Settings()
    limits = settings.limits
    # FastAPI's OpenTelemetry off: the service logs its own line per request, and asking whether a
    # tracer is configured took an eighth of the event loop's time per request
    app = FastAPI(title="W2VV image search", docs_url=None, redoc_url=None, version="1",
                  description="Search an image gallery with a Chinese, Japanese or English sentence. "
                              "Every error is {\"error\": \"<one line>\"} with its status.",
                  telemetry=dict(tracing=False, metrics=False, logs=False, operation_spans=False))
    page, page_csp = read_page("index.html")
    docs, docs_csp = read_page("docs.html")

    def searcher():
        if not state.ready:
            raise ServiceError(503, f"the service is loading ({state.phase}); try again shortly",
                               {"Retry-After": "1"})
        return state.searcher

    def search_now(queries, key):
        """Records for ``queries`` (checked already: strings), a group at a time for ``hold_seconds``."""
        (k, mode, lang), s = key, state.searcher
        deadline = time.monotonic() + limits.hold_seconds
        out = []
        for start in range(0, len(queries), limits.group):
            if time.monotonic() > deadline:
                message = (f"not searched: this request's search time ({limits.hold_seconds:g} s) ran out; "
                           f"send fewer queries at once")
                out += [failed_record(q, lang, mode, message) for q in queries[start:]]
                break
            group = queries[start:start + limits.group]
            out += [r.as_dict() for r in s.search_many(group, k, lang, mode, settings.segmented)]
        return out

    queue = SearchQueue(search_now, limits.search_threads, limits.group, limits.queue_seconds)

    async def search(queries, k, mode, lang, request):
        """A record per query (those that cannot be searched with their ``error``)."""
        searcher()  # 503 while loading
        problems = [query_problem(q, limits) for q in queries]
        todo = [q for q, problem in zip(queries, problems) if problem is None]
        found = []
        if todo:
            try:
                found = await queue.search(todo, (k, mode, lang))
            except Busy:
                raise ServiceError(503, f"busy: no search slot free within {limits.queue_seconds:g} s; "
                                        f"try again", {"Retry-After": "1"}) from None
        found = iter(found)
        records = [clean_record(next(found)) if problem is None else failed_record(q, lang, mode, problem)
                   for q, problem in zip(queries, problems)]
        request.state.log = describe(records, settings.log_queries)
        return records

    @app.exception_handler(ServiceError)
    async def service_error(request, exc):
        return error_response(exc.status, str(exc), exc.headers)

    @app.exception_handler(InputError)
    async def input_error(request, exc):
        return error_response(400, printable(str(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc):
        message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, exc):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body", "path"))
        return error_response(400, printable(f"{where}: {first.get('msg', 'invalid request')}"))

    @app.get("/", include_in_schema=False)
    async def index(request: Request):
        response = Response(page, media_type="text/html; charset=utf-8", headers={
            "Content-Security-Policy": page_csp, "Cache-Control": "no-cache"})
        if request.scope["state"].get("set_cookie"):
            response.set_cookie("w2vv_token", settings.token, httponly=True, samesite="strict")
        return response

    @app.get("/docs", include_in_schema=False)
    async def docs_page():
        return Response(docs, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": docs_csp, "Cache-Control": "no-cache"})

    @app.get("/api/health", responses=responses(503),
             summary="200 when ready (what is served), 503 'loading' until then")
    async def health():
        if not state.ready:
            return JSONResponse({"status": "loading", "phase": state.phase,
                                 "error": f"the service is loading ({state.phase})"},
                                status_code=503, headers={"Retry-After": "1"})
        s = state.searcher
        return dict(status="ok", **state.info, images=len(s.gallery), pictures=state.pictures.count,
                    index=s.gallery.kind, languages=s.languages,
                    default_mode={lang: s.default_mode(lang) for lang in s.languages},
                    ready_seconds=round(state.ready_seconds, 2),
                    limits=dict(body_bytes=limits.body_bytes, query_chars=limits.query_chars, batch=limits.batch,
                                k=limits.k, queue_seconds=limits.queue_seconds, hold_seconds=limits.hold_seconds,
                                search_threads=limits.search_threads))

    @app.get("/api/search", response_model=Record, responses=responses(400, 503),
             summary="the top-k images of one query")
    async def search_one(request: Request,
                         q: str = Query(..., description="the sentence: Chinese (raw), Japanese or English"),
                         k: int = Query(10, description=f"results, 1 to {limits.k}"),
                         mode: Optional[str] = Query(None, description="route: cm | cl | clm"),
                         lang: Optional[str] = Query(None, description="language: zh | en | ja (default: detected)")):
        check_options(k, mode, lang, limits)
        record = (await search([q], k, mode, lang, request))[0]
        if record["error"] and not record["warning"]:  # one query that cannot be served: a bad request
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
        return JSONResponse(await search(queries, k, mode, lang, request))

    @app.get("/images/{image_id}", include_in_schema=False)
    async def image(image_id: str, request: Request):
        if not state.ready:
            searcher()
        position = state.searcher.gallery.position.get(image_id)
        where = state.pictures.path(position) if position is not None else None
        opened = open_picture(*where[:2]) if where else None
        if opened is None:
            raise ServiceError(404, "no picture of this image")
        f, st, head = opened
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        headers = {"Cache-Control": IMAGE_CACHE, "ETag": etag, "Last-Modified": formatdate(st.st_mtime, usegmt=True)}
        if request.headers.get("if-none-match") == etag:
            if f is not None:
                f.close()
            return Response(status_code=304, headers=headers)
        return OpenFileResponse(f, st, head, where[2], headers)

    return Guard(app, settings, log)


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


__all__ = ["Limits", "Settings", "State", "create_app", "find_pictures", "service_info", "warm_up"]
