"""The service's outermost layer, an ASGI middleware around the app (``Guard``): the Host check
against DNS rebinding, the token, the body size announced, the security headers of every answer,
one log line per request, and any exception turned into a JSON 500."""
import ipaddress
import re
import secrets
import time
import traceback
from urllib.parse import quote, unquote_to_bytes

from .service_checks import error_response, printable

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"), (b"cross-origin-resource-policy", b"same-origin")]
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def token_cookie(token):
    """The value of the ``w2vv_token`` cookie: the token URL-encoded, which a cookie carries as it is (a token
    with ``;``, ``,`` or ``"`` would be quoted, and come back otherwise than it was sent)."""
    return quote(token, safe="")


def query_name_value(pair):
    """(name, value) of a raw query string's ``name=value`` pair, percent-decoded to bytes. A ``+`` stays a
    ``+``: a token holds no space, so one given as it is, not URL-encoded, matches too."""
    name, _, value = pair.partition(b"=")
    return unquote_to_bytes(name), unquote_to_bytes(value)


def without_token(query_string):
    """A raw query string as the log shows it (latin-1) with the value of its ``token`` parameters replaced by ``…``:
    whoever reads the log does not get the token."""
    return "&".join("token=…" if query_name_value(pair)[0].strip().lower() == b"token" else pair.decode("latin-1")
                    for pair in query_string.split(b"&"))


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


def with_security_headers(send, status):
    """``send`` adding the security headers to the start of the answer, whose status goes into ``status[0]``."""
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
    return send_with_headers


def without_body(send):
    """``send`` dropping the body of the answer: a HEAD request's, answered as its GET."""
    async def send_head(message):
        if message["type"] == "http.response.body":
            message = {"type": "http.response.body", "body": b"", "more_body": message.get("more_body", False)}
        await send(message)
    return send_head


class Guard:
    """The outermost layer: the Host check, the token, the body size announced, security headers
    on every answer, one log line per request, and any exception turned into a JSON 500."""

    def __init__(self, app, settings, log):
        self.app, self.settings, self.log = app, settings, log
        self.cookie = f"w2vv_token={token_cookie(settings.token)}" if settings.token else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = [None]
        scope.setdefault("state", {})
        send_with_headers = with_security_headers(send, status)
        asked = scope
        if scope.get("method") == "HEAD":  # the GET's answer, headers only (curl -I, a monitor)
            asked, send_with_headers = dict(scope, method="GET"), without_body(send_with_headers)
        try:
            refusal = self.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
            else:
                await self.app(asked, receive, send_with_headers)
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
            return error_response(401, "a token is required: open the page at /?token=<token> (URL-encoded), or "
                                       "send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})
        length = headers.get(b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                return error_response(400, "Content-Length is not a number")
            if int(length) > self.settings.limits.body_bytes:
                return error_response(413, f"a body of {int(length)} bytes: at most "
                                           f"{self.settings.limits.body_bytes}")
        return None

    def authorized(self, scope, headers):
        token = self.settings.token.encode()
        given = headers.get(b"authorization", "")  # latin-1: the bytes sent, a token's UTF-8 among them
        if given[:7].lower() == "bearer " and secrets.compare_digest(given[7:].strip().encode("latin-1"), token):
            return True
        for part in headers.get(b"cookie", "").split(";"):
            if secrets.compare_digest(part.strip().encode(), self.cookie.encode()):
                return True
        if scope["path"] == "/" and scope.get("method") == "GET":  # /?token=…: sets the cookie
            for pair in scope.get("query_string", b"").split(b"&"):
                name, value = query_name_value(pair)
                if name == b"token" and secrets.compare_digest(value, token):
                    scope["state"]["set_cookie"] = True
                    return True
        return False

    def log_line(self, scope, status, started):
        client = scope.get("client")
        target = scope.get("path", "")
        if self.settings.log_queries and scope.get("query_string"):
            target += "?" + without_token(scope["query_string"])
        extra = scope.get("state", {}).get("log")
        target = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", printable(target))[:300]
        self.log(f"{client[0] if client else '-'} {scope.get('method')} {target} {status or '-'} "
                 f"{1000 * (time.perf_counter() - started):.1f}ms" + (f" {extra}" if extra else ""))
