"""Search over HTTP: a FastAPI app around one ``Searcher`` (models and gallery loaded once).

- ``GET /api/search?q=…&k=10&mode=cm|cl|clm&lang=zh|en|ja``: the record ``search.py --json`` prints;
- ``POST /api/search`` with ``["query", …]`` or ``{"queries": […], "k": …, "mode": …, "lang": …}``:
  a list of such records;
- ``GET /api/health``; the OpenAPI description at ``/openapi.json`` (and ``/docs``);
- ``GET /``: the search page (``static/index.html``, no external resource);
- ``GET /images/<id>``: the thumbnail of a gallery image. The id is looked up among the gallery's
  ids, and the file opened is built from that stored id, never from the request's text.

A bad request gets 400 and ``{"error": "<one line>"}``. Searches run one at a time (a lock): the
model and the index are shared, and the CPU is the limit anyway.
"""
import os
import threading
import time
from typing import List, Optional, Union

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel

from .. import layout
from ..errors import InputError
from ..languages import LANGUAGES
from .pictures import Pictures, open_checked, picture_folders
from .searcher import MODES

MAX_QUERY_CHARS = 500
MAX_K = 1000
MAX_BATCH = 100
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static", "index.html")
IMAGE_CACHE = "public, max-age=86400"


class BatchRequest(BaseModel):
    queries: List[str]
    k: int = 10
    mode: Optional[str] = None
    lang: Optional[str] = None


class BadRequest(Exception):
    pass


def find_pictures(searcher, images=(), collection=None):
    """The ``Pictures`` of the searcher's gallery: in the folders ``images`` named, then in
    ``ImageData/`` of the collections of the root (``w2vv.retrieval.pictures``)."""
    return Pictures(searcher.gallery.ids, picture_folders(searcher.root, searcher.gallery_dir, images, collection,
                                                          getattr(searcher, "imageset", None)))


def check_request(queries, k, mode, lang):
    if not queries:
        raise BadRequest("no query given")
    if len(queries) > MAX_BATCH:
        raise BadRequest(f"{len(queries)} queries: at most {MAX_BATCH} in one request")
    for q in queries:
        if not q.strip():
            raise BadRequest("empty query")
        if len(q) > MAX_QUERY_CHARS:
            raise BadRequest(f"query of {len(q)} characters: at most {MAX_QUERY_CHARS}")
    if not 1 <= k <= MAX_K:
        raise BadRequest(f"k = {k}: must be between 1 and {MAX_K}")
    if mode is not None and mode not in MODES:
        raise BadRequest(f"mode {mode!r} unknown (expected one of {', '.join(MODES)})")
    if lang is not None and lang not in LANGUAGES:
        raise BadRequest(f"lang {lang!r} unknown (expected one of {', '.join(LANGUAGES)})")


def create_app(searcher, pictures, log=print):
    """The app serving ``searcher``; the pictures of its gallery are ``pictures`` (``Pictures``)."""
    app = FastAPI(title="W2VV image search", description="Search an image gallery with a Chinese or English sentence.")
    lock = threading.Lock()
    with open(PAGE, encoding="utf-8") as f:
        page = f.read()

    def search(queries, k, mode, lang):
        check_request(queries, k, mode, lang)
        with lock:
            if len(queries) == 1:  # one query that cannot be served is a bad request (400)
                return [searcher.search(queries[0], k, lang or None, mode or None).as_dict()]
            # a batch: every query answered, those that cannot be served with their "error"
            return [r.as_dict() for r in searcher.search_many(queries, k, lang or None, mode or None)]

    @app.exception_handler(BadRequest)
    @app.exception_handler(InputError)
    async def bad_request(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, exc):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=400)

    @app.middleware("http")
    async def log_request(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        log(f"{request.client.host if request.client else '-'} {request.method} {target} {response.status_code} "
            f"{1000 * (time.perf_counter() - started):.1f}ms")
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index():
        return page

    @app.get("/api/health")
    def health():
        return dict(status="ok", images=len(searcher.gallery), index=searcher.gallery.kind,
                    languages=searcher.languages, default_mode={lang: searcher.default_mode(lang)
                                                                 for lang in searcher.languages})

    @app.get("/api/search")
    def search_one(q: str = Query(..., description="the sentence, Chinese (raw) or English"),
                   k: int = 10, mode: Optional[str] = None, lang: Optional[str] = None):
        return search([q], k, mode, lang)[0]

    @app.post("/api/search")
    def search_batch(body: Union[BatchRequest, List[str]]):
        if isinstance(body, list):
            body = BatchRequest(queries=body)
        return search(body.queries, body.k, body.mode, body.lang)

    @app.get("/images/{image_id}", include_in_schema=False)
    def image(image_id: str):
        position = searcher.gallery.position.get(image_id)
        where = pictures.path(position) if position is not None else None
        opened = open_checked(*where[:2]) if where else None
        if opened is None:
            return JSONResponse({"error": "no picture of this image"}, status_code=404)
        f, st = opened
        f.close()
        return FileResponse(where[0], media_type=where[2], stat_result=st, headers={"Cache-Control": IMAGE_CACHE})

    return app
