"""What a request to the service may ask for, and the checks of what it asks: the limits, the
error answered ``{"error": …}`` with its status, the queries, the options ``k``, ``mode`` and
``lang``, the query string of a GET and the body of a POST."""
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse

from ..languages import LANGUAGES
from .searcher import LONE_SURROGATE, MODES, invisible_to_spaces, unicode_problem


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


class ServiceError(Exception):
    """An error answered ``{"error": message}`` with ``status``."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.headers = status, headers


def error_response(status, message, headers=None):
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def printable(text):
    """``text`` with lone surrogates (which no UTF-8 answer can carry) as U+FFFD."""
    return LONE_SURROGATE.sub("\ufffd", text)


def query_problem(query, limits):
    """Why ``query`` (any JSON value) cannot be searched, or None."""
    if not isinstance(query, str):
        return f"a query must be a string, not {json_type(query)}"
    problem = unicode_problem(query)
    if problem:
        return problem
    if "\x00" in query:
        return "the query contains a NUL character"
    if not invisible_to_spaces(query).strip():
        return "empty query"
    if len(query) > limits.query_chars:
        return f"query of {len(query)} characters: at most {limits.query_chars}"
    return None


def json_type(value):
    return {dict: "an object", list: "an array", bool: "a boolean", int: "a number", float: "a number",
            str: "a string", type(None): "null"}.get(type(value), type(value).__name__)


def check_options(k, mode, lang, limits):
    if isinstance(k, bool) or not isinstance(k, int):
        raise ServiceError(400, f"k must be an integer, not {json_type(k)}")
    if not 1 <= k <= limits.k:
        shown = str(k) if abs(k) < 10 ** 20 else f"{'-' if k < 0 else ''}a number of {len(str(abs(k)))} digits"
        raise ServiceError(400, f"k = {shown}: must be between 1 and {limits.k}")
    if mode is not None and mode not in MODES:
        raise ServiceError(400, f"mode {printable(str(mode))[:40]!r} unknown (expected one of {', '.join(MODES)})")
    if lang is not None and lang not in LANGUAGES:
        raise ServiceError(400, f"lang {printable(str(lang))[:40]!r} unknown "
                                f"(expected one of {', '.join(LANGUAGES)})")


GET_PARAMETERS = ("q", "k", "mode", "lang")


def check_query_string(raw):
    """400 when a parameter of the raw query string (bytes) of ``GET /api/search`` is not UTF-8 once
    percent-decoded (Starlette reads such bytes as U+FFFD, and the query would be searched as another text),
    is not one of ``GET_PARAMETERS`` or is given twice (either would be dropped in silence), or ``k`` is not
    written as a whole number (as a POST's must be)."""
    seen = set()
    # latin-1 keeps every byte as one character, as Starlette splits the string
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        for text in (name, value):
            try:
                text.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError as e:
                shown = name.encode("latin-1").decode("utf-8", "replace")[:40]
                raise ServiceError(400, f"parameter {shown!r} is not valid UTF-8 (byte {e.start} of its "
                                        f"{'name' if text is name else 'value'})") from None
        shown = name.encode("latin-1").decode("utf-8")[:40]
        if name not in GET_PARAMETERS:
            raise ServiceError(400, f"parameter {shown!r} unknown (expected {', '.join(GET_PARAMETERS)})")
        if name in seen:
            raise ServiceError(400, f"parameter {shown!r} given twice")
        seen.add(name)
        if name == "k" and not re.fullmatch("-?[0-9]+", value):
            raise ServiceError(400, f"k must be an integer, not {value[:20]!r}")


def parse_batch(body, content_type, limits):
    """(queries, k, mode, lang) of a POST body (bytes)."""
    queries, options = _batch_shape(_json_body(body, content_type))
    if not queries:
        raise ServiceError(400, "no query given")
    if len(queries) > limits.batch:
        raise ServiceError(400, f"{len(queries)} queries: at most {limits.batch} in one request")
    k, mode, lang = options.get("k", 10), options.get("mode"), options.get("lang")
    for name, value in (("mode", mode), ("lang", lang)):
        if value is not None and not isinstance(value, str):
            raise ServiceError(400, f"{name} must be a string, not {json_type(value)}")
    check_options(k, mode, lang, limits)
    return queries, k, mode, lang


def _json_body(body, content_type):
    """The JSON value of a POST body (bytes) declared as ``content_type``."""
    media = content_type.split(";")[0].strip().lower()
    if not media:  # what another site's page may send without asking first (a Blob of no type)
        raise ServiceError(415, "no content-type: send JSON (application/json)")
    if media != "application/json" and not media.endswith("+json"):
        raise ServiceError(415, f"content-type {printable(media)[:60]!r}: send JSON (application/json)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ServiceError(400, f"the body is not UTF-8 (byte {e.start})") from None
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_one_of_each)
    except RecursionError:
        raise ServiceError(400, "the body is nested too deeply") from None
    except ValueError as e:
        raise ServiceError(400, f"the body is not JSON: {str(e).splitlines()[0][:120]}") from None


def _one_of_each(pairs):
    """A JSON object's dict; a key given twice is refused (``json`` keeps the last in silence), as in a GET."""
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise ServiceError(400, f"body: {key!r} given twice")
        seen.add(key)
    return dict(pairs)


def _batch_shape(value):
    """(queries, options) of a body's JSON value: a list of queries, or an object with them."""
    if isinstance(value, list):
        return value, {}
    if not isinstance(value, dict):
        raise ServiceError(400, f"body: expected a list of queries or an object with 'queries', "
                                f"not {json_type(value)}")
    unknown = sorted(set(value) - {"queries", "k", "mode", "lang"})
    if unknown:
        raise ServiceError(400, f"body: unknown field {printable(unknown[0])[:40]!r} "
                                f"(expected queries, k, mode, lang)")
    if "queries" not in value:
        raise ServiceError(400, "body: field 'queries' missing (a list of strings)")
    if not isinstance(value["queries"], list):
        raise ServiceError(400, f"body: 'queries' must be a list of strings, not {json_type(value['queries'])}")
    return value["queries"], value


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")
