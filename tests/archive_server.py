"""A local HTTP server for the stage-0 tests: serves files from memory on 127.0.0.1 (a free
port, in a thread), answers ``Range: bytes=N-`` with 206, and can be told to answer 404, to
ignore ranges, or to drop the connection halfway through a body."""
import http.server
import re
import threading


class ArchiveServer:
    def __init__(self, files):
        self.files = dict(files)        # url path -> bytes
        self.not_found = set()          # paths answered with 404
        self.drops = {}                 # path -> how many more responses to cut halfway
        self.ranges = True              # False: ignore Range headers (always 200)
        self.requests = []              # (path, Range header or None), in order
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                body = server.files.get(self.path)
                if body is None or self.path in server.not_found:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if m and server.ranges:
                    start = int(m.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                rest = body[start:]
                self.send_header("Content-Length", str(len(rest)))
                self.end_headers()
                if server.drops.get(self.path, 0) > 0:
                    server.drops[self.path] -= 1
                    self.wfile.write(rest[: len(rest) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(rest)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # shutdown() waits for the loop's next poll: 0.05 s instead of the default 0.5 s per test
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def url(self, path):
        return f"http://127.0.0.1:{self._httpd.server_port}{path}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
