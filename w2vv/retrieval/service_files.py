"""The files the service answers with: its pages (``static/``) with their Content-Security-Policy,
and the gallery's pictures, opened on the event loop and streamed."""
import base64
import hashlib
import os
import re

import anyio
from starlette.responses import Response

from .pictures import open_checked

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
IMAGE_CACHE = "public, max-age=86400"
CHUNK = 1 << 16  # bytes of a picture read at a time


def open_picture(path, folder):
    """(the open file, its ``os.stat_result``, its first ``CHUNK`` bytes) of a picture that
    ``open_checked`` accepts, else None; the file closed (None) when that chunk is all of it.
    Called on the event loop: a local picture in the page cache takes tens of microseconds, while a
    hop to a worker thread and back waits behind the searches."""
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
