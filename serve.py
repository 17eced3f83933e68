#!/usr/bin/env python3
"""Serve search over HTTP: a web page at / and a JSON API at /api/search (FastAPI + uvicorn).

  python serve.py --model_path ZH_CKPT [--model_path EN_CKPT] [--collection myphotos] [--port 8000]

The models are search.py's: W2VV's, or a successor's (W2VV++, SEA; its gallery, the image tower's
vectors, computed once and cached in the checkpoint folder), all of one family.
The port is opened first; /api/health answers 503 "loading" until the models and the gallery
are loaded and every route has run once, then 200 with what is served. The gallery and the
options reading queries are search.py's (--collection NAME, --gallery FEATURE_DIR, --imageset,
--index, ...). The pictures are looked for in the --images folders, then in ImageData/ of every
collection of the root. Binds to 127.0.0.1 (this machine only); another address needs a token
(--token, or the environment variable W2VV_TOKEN) or --insecure. One log line per request, with
the queries' length and language only (--log_queries: their text). Ctrl-C or SIGTERM stops it."""
import os

# Searches run in parallel threads, each a small matrix-vector product: one BLAS thread each
# (a BLAS thread pool per search only contends for the cores; measured 3-6x slower CLM on 2 cores).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import ipaddress  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

from w2vv import cli  # noqa: E402
from w2vv.cli import log, quiet_tensorflow, run  # noqa: E402
from w2vv.errors import InputError  # noqa: E402
from w2vv.retrieval.options import add_search_options, open_searcher  # noqa: E402

TOKEN_VARIABLE = "W2VV_TOKEN"


def parse_args(argv):
    p = cli.parser(__doc__, raw=True)
    add_search_options(p)
    p.add_argument("--images", action="append", default=[],
                   help="a folder of the gallery's pictures (<id>.jpg, .png, ...; searched recursively), looked in "
                        "before ImageData/ of the root's collections; may be given more than once")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (127.0.0.1: this machine only; another one needs --token or --insecure)")
    p.add_argument("--port", default="8000", help="port (8000; 0: a free one)")
    p.add_argument("--token", default=None,
                   help=f"a secret every client must send (Authorization: Bearer <token>; the page: open "
                        f"/?token=<token> once, the token URL-encoded); default: the environment variable "
                        f"{TOKEN_VARIABLE}")
    p.add_argument("--insecure", action="store_true",
                   help="serve an address beyond this machine without a token (anyone reaching it can search "
                        "and see the pictures)")
    p.add_argument("--allowed_hosts", default="",
                   help="comma-separated host names clients may use besides localhost, this machine's name and "
                        "IP addresses ('*': any), against DNS rebinding")
    p.add_argument("--log_queries", action="store_true", help="log the queries' text (default: length, language)")
    p.add_argument("--search_threads", type=int, default=None,
                   help="searches run at once, in threads off the event loop (default: half the CPU cores, at "
                        "least 1, at most 4)")
    args = cli.parse_args(p, argv)
    if args.search_threads is not None and args.search_threads < 1:
        p.error(f"--search_threads {args.search_threads}: at least 1 (or leave it out: half the CPU cores, at most 4)")
    missing = [folder for folder in args.images if not os.path.isdir(folder)]
    if missing:
        p.error(f"--images {missing[0]}: folder not found")
    return args


def port_number(text):
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise InputError(f"--port {text}: a port is a number from 1 to 65535 (0: a free one)")
    return port


def listen(host, port):
    """A TCP socket listening on host:port, opened before the models load: a busy port or an
    unknown address fails at once. IPPROTO_TCP and TCP_NODELAY: every accepted connection sends
    its answer at once (no Nagle delay against the client's delayed ACK on keep-alive)."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise InputError(f"--host {host}: not an address ({getattr(e, 'strerror', None) or e})") from None
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(address)
        sock.listen(1024)
    except OSError as e:
        sock.close()
        raise InputError(f"{host}:{port}: cannot listen there ({e.strerror or e}); "
                         f"choose another --port or --host") from None
    return sock


def address_url(sock):
    """The URL of the service listening on ``sock``."""
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def is_loopback(sock):
    return ipaddress.ip_address(sock.getsockname()[0].split("%")[0]).is_loopback


def security(args, sock):
    """(token, allowed host names): refuses an address beyond this machine without a token or --insecure."""
    token = args.token or os.environ.get(TOKEN_VARIABLE) or None
    if token is not None and (len(token) < 8 or any(c.isspace() or not c.isprintable() for c in token)):
        raise InputError("--token: at least 8 printable characters without spaces")
    if not is_loopback(sock) and token is None:
        if not args.insecure:
            raise InputError(f"--host {args.host}: serving beyond this machine needs a token (--token, or "
                             f"{TOKEN_VARIABLE}) or --insecure")
        log(f"WARNING: --insecure: anyone who reaches {args.host}:{sock.getsockname()[1]} can search and see "
            f"the pictures, without a token")
    names = {"localhost", socket.gethostname().lower(), socket.getfqdn().lower(), args.host.lower().strip("[]")}
    names.update(h.strip().lower() for h in args.allowed_hosts.split(",") if h.strip())
    return token, tuple(sorted(names))


class Stop(Exception):
    """SIGTERM, raised in the main thread."""


def main(argv):
    args = parse_args(argv)
    quiet_tensorflow()
    port = port_number(args.port)
    sock = listen(args.host, port)
    token, hosts = security(args, sock)
    import uvicorn

    from w2vv.retrieval.service import State
    state = State()
    app = service_app(args, token, hosts, state)
    server = uvicorn.Server(uvicorn.Config(app, access_log=False, log_level="error", timeout_keep_alive=30))
    stopped = threading.Event()   # the server ended, or the loading failed (in ``failure``)
    ending = threading.Event()    # stopped by a signal: the loading, still running, says nothing after the stop line
    failure = []

    def serve():
        try:
            server.run(sockets=[sock])
        finally:
            stopped.set()

    def loading():
        try:
            load(args, state, url, lambda message: ending.is_set() or log(message))
        except Exception as e:  # noqa: BLE001  (raised again in the main thread)
            failure.append(e)
            stopped.set()

    # The main thread only waits (on an Event, not on Thread.join: a signal interrupting join() marks
    # the thread stopped), so Ctrl-C and SIGTERM act within half a second whatever the loading does:
    # a KeyboardInterrupt raised inside the loading could land in a long C call, or in a finalizer or
    # a library's bare except that swallows it.
    serving = threading.Thread(target=serve, name="uvicorn", daemon=True)
    url = address_url(sock)
    _stop_on_signals()
    try:
        serving.start()
        log(f"listening on {url} (/api/health: 503 loading until ready)")
        threading.Thread(target=loading, name="loading", daemon=True).start()
        while not stopped.wait(0.5):
            pass
        if failure:
            raise failure[0]
        raise InputError("the HTTP server stopped")
    except (KeyboardInterrupt, Stop) as e:
        ending.set()
        log(f"stopped ({'SIGTERM' if isinstance(e, Stop) else 'Ctrl-C'})" +
            ("" if state.ready else " while loading"))
        return 0
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001  (loading failed: one line, the traceback with --debug)
        if args.debug:
            raise
        raise InputError(f"loading failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") \
            from None
    finally:
        server.should_exit = True
        stopped.wait(5)


def service_app(args, token, hosts, state):
    """The app serving ``state`` with the options' token, allowed hosts, query log and search threads."""
    from w2vv.retrieval.service import Limits, Settings, create_app
    # half the cores: a search holds the GIL for most of its time, so more threads add little and
    # keep the event loop (health, pictures) waiting
    threads = args.search_threads or max(1, min((os.cpu_count() or 2) // 2, 4))
    settings = Settings(limits=Limits(search_threads=threads), token=token, allowed_hosts=hosts,
                        log_queries=args.log_queries, segmented=args.segmented, debug=args.debug)
    return create_app(state, settings, log=log)


def load(args, state, url, log):
    """Open the models and the gallery, find the pictures, run every route once, then mark ``state`` ready."""
    def progress(message):
        state.phase = message.split(":")[0][:40]
        log(message)

    from w2vv.retrieval.service import find_pictures, service_info, warm_up
    searcher = open_searcher(args, log=progress)
    state.phase = "pictures"
    pictures = find_pictures(searcher, args.images, args.collection)
    log(pictures.summary())
    state.phase = "warming up"
    warm_up(searcher)
    state.set_ready(searcher, pictures, service_info(searcher))
    log(f"ready in {state.ready_seconds:.1f}s: serving {len(searcher.gallery)} images on {url} "
        f"(API: /api/search, docs: /docs); Ctrl-C stops")


def _stop_on_signals():
    """SIGTERM raises ``Stop`` in the main thread, Ctrl-C KeyboardInterrupt: also where the process started
    ignoring SIGINT, as a script's background job (``serve.py &``) does."""
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _raise_stop(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Stop()


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    code = run(main)  # Ctrl-C while Python imports: w2vv.interrupts says so
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # nothing is left to save: skip the seconds TensorFlow's teardown takes
