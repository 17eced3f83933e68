"""Search your own photos, end to end as a user does it: a folder of pictures → extract_features.py
(a keras.applications CNN, random weights) → trainer.py on those features (``n_layers …-feat``) →
serve.py on a free loopback port → the page in headless Chromium (selenium with Debian's
chromium-driver), and the JSON API: the answers of search.py, bad requests, image paths,
concurrent clients, one log line per request, and a gallery of another feature refused."""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from tests.helpers import REPO, quiet_env, run_script
from w2vv import layout
from w2vv.config import parse_overrides
from w2vv.runs import configured_run
from w2vv.retrieval.service_files import CHUNK
from tools.make_demo_data import FEATURE as DEMO_FEATURE, _picture, compose_images, make_demo_root

pytestmark = pytest.mark.slow  # features extracted, two models trained

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SEED, SCALE = 0, 0.1
CNN, FEATURE = "mobilenetv3small", "mobilenetv3small_none_avgpool"
CONFIG = "w2vv_attention_ctl"
OVERRIDES = f"lstm_size=16,n_layers=0-32-feat,img_feature={FEATURE},sent_maxlen=16"
ZH = ("cococntrain", "cococnval", "cococntest")
EN = ("mscoco2014dev-train", "mscoco2014dev-val", "mscoco2014dev-test")
OWN = "myphotos"
QUERIES = ["一只狗在草地上跑", "一架飞机在天空中飞", "海滩上有一只风筝", "一头大象在田野里", "一只猫在房间里",
           "一辆公共汽车在街上", "两个人在海滩上", "一只红色的鸟", "桌子上有一个披萨", "一匹马在田野里",
           "a dog running on the grass", "an airplane flying in the sky", "a kite on the beach",
           "an elephant in a field", "a cat in a room", "a bus on the street", "two people on the beach",
           "a red bird", "a pizza on a table", "a horse in a field"]


@pytest.fixture(scope="module")
def own_root(tmp_path_factory):
    """Pictures of every demo image (the training photos) and of the test images (your own
    photos, JPEG and PNG); their CNN features; a Chinese and an English model trained on them."""
    base = tmp_path_factory.mktemp("own")
    root = base / "VisualSearch"
    make_demo_root(root, seed=SEED, scale=SCALE, feature_dim=16, verbose=False)
    _, _, test_ids, _, comps = compose_images(SEED, SCALE)
    for img in comps:
        (base / "training_photos").mkdir(exist_ok=True)
        (base / "training_photos" / f"{img}.jpg").write_bytes(_picture(comps[img]))
    from PIL import Image
    for i, img in enumerate(test_ids):
        folder = base / "my_photos" / ("2024" if i % 2 else "2025")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{img}.jpg").write_bytes(_picture(comps[img]))
        if i % 3 == 0:  # some as PNG
            with Image.open(folder / f"{img}.jpg") as picture:
                picture.save(folder / f"{img}.png")
            os.remove(folder / f"{img}.jpg")
    r = str(root)
    with open(base / "pipeline.log", "w") as log:
        for photos, collection in (("training_photos", "mscoco2014dev"), ("my_photos", OWN)):
            run_script(["extract_features.py", str(base / photos), "--rootpath", r, "--collection", collection,
                        "--cnn", CNN, "--weights", "none", "--image_size", "64"], log)
        for (train, val, test), epochs in ((ZH, 2), (EN, 1)):
            run_script(["build_vocab.py", train, "--rootpath", r], log)
            run_script(["trainer.py", train, val, test, "--rootpath", r, "--config", CONFIG, "--seed", "0",
                        "--config_overrides", OVERRIDES, "--max_epochs", str(epochs), "--batch_size", "16"],
                       log)
    return r, test_ids


def model_args(root):
    return ["--model_path", layout.checkpoint_dir(root, *ZH[:2], run_name(2)),
            "--model_path", layout.checkpoint_dir(root, *EN[:2], run_name(1))]


def run_name(epochs):
    return configured_run(CONFIG, {**parse_overrides(OVERRIDES), "max_epochs": str(epochs), "batch_size": "16"})[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = {}  # base URL -> its process


@pytest.fixture(scope="module")
def server(own_root, tmp_path_factory):
    root = own_root[0]
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "serve.py", *model_args(root), "--collection", OWN,
                                    "--port", str(port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                   env=quiet_env())
    base = f"http://127.0.0.1:{port}"
    SERVER[base] = process
    try:
        deadline = time.time() + 180
        while True:
            assert process.poll() is None, f"serve.py exited: {log_path.read_text()[-2000:]}"
            try:
                status, _, _ = get(base, "/api/health")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.time() < deadline, "serve.py did not answer within 180 s"
            time.sleep(0.1)
        yield base, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = log_path.read_text()   # SIGTERM: one line, exit status 0
    assert process.returncode == 0 and "Traceback" not in text
    assert [line[11:] for line in text.splitlines() if "stopped" in line] == ["stopped (SIGTERM)"]


def get(base, path, headers=None):
    """(status, headers, body bytes) of a GET sent with exactly this path (no client-side normalising)."""
    host, port = base.rsplit("/", 1)[-1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def search_path(q, **params):
    return "/api/search?" + "&".join(f"{k}={quote(str(v))}" for k, v in dict(q=q, **params).items())


@pytest.fixture(scope="module")
def expected(own_root, tmp_path_factory):
    """What search.py --json prints for QUERIES (k 5) on the same models and gallery."""
    root = own_root[0]
    queries = tmp_path_factory.mktemp("queries") / "queries.txt"
    queries.write_text("\n".join(QUERIES) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "search.py", *model_args(root), "--collection", OWN,
                           "--queries", str(queries), "--json", "--k", "5", "--quiet"], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=quiet_env())
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["query"] for r in records] == QUERIES
    return records


def same_answer(record, reference):
    """The same record; scores to float32 precision (a batch's size and BLAS's threads move the last bit)."""
    assert {k: v for k, v in record.items() if k != "results"} == \
        {k: v for k, v in reference.items() if k != "results"}
    assert [h["id"] for h in record["results"]] == [h["id"] for h in reference["results"]]
    assert [h["score"] for h in record["results"]] == pytest.approx([h["score"] for h in reference["results"]],
                                                                   abs=2e-6)


# ---------------------------------------------------------------- the API

def test_health_docs_and_the_page_without_external_resources(server, own_root):
    base, log_path = server
    status, _, body = get(base, "/api/health")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["images"] == len(own_root[1])
    assert health["languages"] == ["en", "zh"]
    status, _, body = get(base, "/openapi.json")
    assert status == 200 and "/api/search" in json.loads(body)["paths"]
    status, headers, body = get(base, "/")
    page = body.decode("utf-8")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert 'id="q"' in page and "/api/search" in page
    assert not re.search(r"https?:|//[a-z]|@import|@font-face", page)     # no CDN, no font download
    assert f"serving {len(own_root[1])} images on http://127.0.0.1:" in log_path.read_text()


def test_get_and_post_answer_what_search_py_prints(server, expected):
    base, _ = server
    for reference in (expected[0], expected[10]):
        status, headers, body = get(base, search_path(reference["query"], k=5))
        assert status == 200 and headers["content-type"] == "application/json"
        same_answer(json.loads(body), reference)
    import httpx
    batch = httpx.post(base + "/api/search", json={"queries": QUERIES, "k": 5}, timeout=60)
    # the same batch of 20, one call either way, but serve.py runs BLAS on one thread and search.py on
    # every core: OpenBLAS's float32 sums follow its thread split, so the last bit may differ
    assert batch.status_code == 200 and len(batch.json()) == len(expected)
    for record, reference in zip(batch.json(), expected):
        same_answer(record, reference)
    head = httpx.head(base + search_path(expected[0]["query"], k=5), timeout=60)  # uvicorn sends no body either
    assert head.status_code == 200 and head.content == b"" and head.headers["content-type"] == "application/json"
    plain = httpx.post(base + "/api/search", json=QUERIES[:2], timeout=60)      # a bare list, k 10
    assert plain.status_code == 200 and [len(r["results"]) for r in plain.json()] == [10, 10]  # all 10 images
    status, _, body = get(base, search_path("一只狗在草地上跑", k=3, mode="cm", lang="zh"))
    record = json.loads(body)
    assert record["text"] == "一只 狗 在 草地 上 跑" and record["mode"] == "cm" and len(record["results"]) == 3
    status, _, body = get(base, search_path("a dog xyzzy"))
    assert json.loads(body)["unknown"] == ["xyzzy"]


def test_twenty_concurrent_clients_get_the_answers_of_search_py(server, expected):
    import httpx
    base, _ = server

    def client(i):
        with httpx.Client(base_url=base, timeout=120) as c:
            response = c.get("/api/search", params=dict(q=QUERIES[i], k=5))
            return response.status_code, response.json()

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(client, range(20)))
    assert [status for status, _ in answers] == [200] * 20
    for (_, record), reference in zip(answers, expected):
        same_answer(record, reference)


BAD_GETS = [
    (dict(q=""), "empty query"), (dict(q="   "), "empty query"), (dict(q="字" * 2000), "at most 500"),
    (dict(q="dog", k=0), "k = 0"), (dict(q="dog", k=-3), "k = -3"), (dict(q="dog", k=10**9), "k = 1000000000"),
    (dict(q="dog", k="ten"), "valid integer"), (dict(q="dog", mode="fast"), "mode 'fast' unknown"),
    (dict(q="dog", lang="fr"), "lang 'fr' unknown"), (dict(q="dog", mode="cl"), "cross-lingual routes take a Chinese"),
]


@pytest.mark.parametrize("params, message", BAD_GETS, ids=[m for _, m in BAD_GETS])
def test_bad_get_requests_get_400_and_one_json_line(server, params, message):
    status, headers, body = get(server[0], search_path(**params))
    assert status == 400 and headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert message in error and "\n" not in error


def test_bad_post_requests_and_a_missing_query_get_400(server):
    import httpx
    base = server[0]
    status, _, body = get(base, "/api/search?k=3")
    assert status == 400 and "q" in json.loads(body)["error"]
    for payload, message in [([], "no query"), ({"queries": []}, "no query"), (["dog"] * 101, "at most 100"),
                             ({"queries": ["dog"], "k": 0}, "k = 0"), ({"k": 3}, "body"), (3, "body"),
                             ({"queries": "dog"}, "list"), ({"queries": ["dog"], "k": "9"}, "integer"),
                             ("dog", "a list of queries or an object with 'queries', not a string"),  # 'not str'
                             ({"queries": ["dog"], "k": 10 ** 3999}, "k = a number of 4000 digits: must be"),
                             ({"queries": ["dog"], "mode": 3}, "mode must be a string"),
                             ({"queries": ["dog"], "query": "x"}, "unknown field 'query'")]:
        response = httpx.post(base + "/api/search", json=payload, timeout=60)
        assert response.status_code == 400 and message in response.json()["error"], (payload, response.text)
    broken = httpx.post(base + "/api/search", content=b"[\"dog\"", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and "error" in broken.json()
    twice = httpx.post(base + "/api/search", content=b'{"queries": ["dog"], "queries": ["cat"]}',
                       headers={"content-type": "application/json"})  # json kept the last in silence
    assert twice.status_code == 400 and twice.json()["error"] == "body: 'queries' given twice"


def test_images_only_of_the_gallery_with_caching_headers(server, own_root):
    base, _ = server
    root, test_ids = own_root
    thumbs = layout.image_dir(root, OWN)
    status, headers, body = get(base, f"/images/{test_ids[0]}")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert body == open(os.path.join(thumbs, test_ids[0] + ".jpg"), "rb").read()
    assert "max-age" in headers["cache-control"] and headers.get("etag")
    etag = headers["etag"]
    for asked, answer in ((etag, 304), (f'"x", W/{etag}', 304), ("*", 304), ('"x"', 200)):  # a list, a weak tag
        assert get(base, f"/images/{test_ids[0]}", {"If-None-Match": asked})[0] == answer, asked
    picture = os.path.join(thumbs, test_ids[1] + ".jpg")      # larger pictures, read in chunks
    kept = open(picture, "rb").read()
    try:
        for size in (0, CHUNK, CHUNK + 1, 2 * CHUNK + CHUNK // 2):
            content = os.urandom(size)
            with open(picture, "wb") as f:
                f.write(content)
            status, headers, body = get(base, f"/images/{test_ids[1]}")
            assert status == 200 and body == content and int(headers["content-length"]) == size
    finally:
        with open(picture, "wb") as f:
            f.write(kept)
    shutil.copy(os.path.join(thumbs, test_ids[0] + ".jpg"), os.path.join(thumbs, "not_in_gallery.jpg"))
    training_only = sorted(os.listdir(layout.image_dir(root, "mscoco2014dev")))[0][:-4]
    assert training_only not in test_ids
    secret = os.path.abspath(os.path.join(thumbs, test_ids[0] + ".jpg"))
    for path in ["/images/not_in_gallery", f"/images/{training_only}", "/images/../../../../etc/passwd",
                 "/images/..%2F..%2F..%2Fetc%2Fpasswd", "/images/%2Fetc%2Fpasswd", "/images//etc/passwd",
                 "/images/..%5C..%5Cetc%5Cpasswd", "/images/%2e%2e", "/images/.", "/images/" + quote(secret, safe=""),
                 "/images/" + secret, f"/images/{test_ids[0]}.jpg", f"/images/{test_ids[0]}%00"]:
        status, _, body = get(base, path)
        assert status == 404, (path, status, body[:200])


def test_log_lines_from_many_threads_never_run_into_each_other(capsys):
    import threading
    from w2vv.cli import log
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)                                # threads switching as often as they can
    try:
        threads = [threading.Thread(target=lambda i=i: [log(f"thread {i} line {n}") for n in range(300)])
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 * 300 and all(re.fullmatch(r"\[\d\d:\d\d:\d\d\] thread \d line \d+", line) for line in lines)


def test_one_log_line_per_request_without_the_queries(server):
    base, log_path = server
    time.sleep(0.5)
    before = len(log_path.read_text().splitlines())
    for i in range(3):
        get(base, search_path(f"a dog number{i}"))
    get(base, search_path("一只狗在草地上跑"))
    time.sleep(0.5)
    lines = log_path.read_text().splitlines()[before:]
    assert len(lines) == 4 and "number" not in "".join(lines) and "狗" not in "".join(lines)
    assert all(re.search(r"127\.0\.0\.1 GET /api/search 200 [\d.]+ms query of 13 chars en$", line)
               for line in lines[:3]), lines
    assert lines[3].endswith(" query of 8 chars zh")


def test_a_gallery_of_another_feature_is_refused_in_one_line(own_root, tmp_path):
    root = own_root[0]
    other = layout.feature_dir(root, "another_cnn_avgpool", OWN)
    shutil.copytree(layout.feature_dir(root, FEATURE, OWN), other)    # same size, another feature name
    for gallery, message in [(layout.feature_dir(root, DEMO_FEATURE), "gallery features are 16-d, but the model"),
                             (other, "gallery feature 'another_cnn_avgpool', but the model")]:
        done = subprocess.run([sys.executable, "serve.py", *model_args(root), "--gallery", gallery, "--port", "1"],
                              cwd=REPO, capture_output=True, text=True, timeout=300,
                              env=quiet_env())
        assert done.returncode == 1
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: {gallery}: ") and message in last and "Traceback" not in done.stderr


def test_a_busy_port_fails_in_one_line_before_loading_anything(own_root, capsys):
    import serve
    from w2vv.cli import run
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert run(serve.main, [*model_args(own_root[0]), "--collection", OWN, "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: 127.0.0.1:{port}: cannot listen there (") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "error: --port 70000: a port is a number from 1 to 65535"),
    (["--port", "eighty"], "error: --port eighty: a port is a number"),
    (["--host", "no.such.host.invalid"], "error: --host no.such.host.invalid: not an address"),
    (["--host", "0.0.0.0"], "error: --host 0.0.0.0: serving beyond this machine needs a token"),
    (["--host", "0.0.0.0", "--token", "short"], "error: --token: at least 8 printable characters"),
])
def test_bad_addresses_and_serving_beyond_this_machine_without_a_token_fail_in_one_line(own_root, capsys, args,
                                                                                         message):
    import serve
    from w2vv.cli import run
    assert run(serve.main, [*model_args(own_root[0]), "--port", "0", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1, err


def test_ctrl_c_while_loading_stops_in_one_line(own_root, tmp_path):
    import signal
    port = free_port()
    with open(tmp_path / "serve.log", "w") as log:
        process = subprocess.Popen([sys.executable, "serve.py", *model_args(own_root[0]), "--collection", OWN,
                                    "--port", str(port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    try:
        deadline = time.time() + 60
        while True:  # the port answers at once: 503 loading, in the error shape
            try:
                status, headers, body = get(f"http://127.0.0.1:{port}", "/api/health")
                break
            except OSError:
                assert time.time() < deadline and process.poll() is None
                time.sleep(0.05)
        assert status == 503 and json.loads(body)["status"] == "loading" and headers["retry-after"] == "1"
        status, _, body = get(f"http://127.0.0.1:{port}", search_path("dog"))
        assert status == 503 and "loading" in json.loads(body)["error"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = (tmp_path / "serve.log").read_text()
    assert [line[11:] for line in text.splitlines() if "stopped" in line] == ["stopped (Ctrl-C) while loading"]
    # the loading says no more; a request answered before the signal may log its line after the stop line
    after = text.splitlines()[[line[11:] for line in text.splitlines()].index("stopped (Ctrl-C) while loading") + 1:]
    assert all(re.match(r"\S+ (GET|POST) /", line[11:]) for line in after), after
    assert "Traceback" not in text


@pytest.mark.parametrize("query_string", ["q=%ff", "q=dog%ff", "q=%e7%8b", "q=%c0%ae&k=3", "q=dog&k=3&%ff=1",
                                          "q=dog&lang=%ff", "q=a+dog+%ed%a0%80"])
def test_a_get_query_string_not_utf8_is_a_bad_request(app_client, query_string):
    response = app_client.get("/api/search?" + query_string)
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"} and "not valid UTF-8" in response.json()["error"]


@pytest.mark.parametrize("query_string, message", [
    ("q=dog&q=cat", "parameter 'q' given twice"), ("q=dog&k=2&k=5", "parameter 'k' given twice"),
    ("q=dog&top=3", "parameter 'top' unknown (expected q, k, mode, lang)"), ("q=dog&k=2.0", "k must be an integer"),
    ("q=dog&k=%2B2", "k must be an integer")])
def test_a_get_parameter_repeated_unknown_or_not_a_whole_number_is_a_bad_request(app_client, query_string, message):
    """The last q or k was searched, ``top`` ignored (10 results), k=2.0 taken where a POST refuses 2.0."""
    response = app_client.get("/api/search?" + query_string)
    assert response.status_code == 400 and message in response.json()["error"], response.json()


def test_a_get_query_string_in_utf8_is_searched(app_client):
    for query_string in ("q=%e7%8b%97&k=2", "q=a+dog&k=2", "q=a%20dog&k=2&mode=cm",
                         "k=2&q=%E4%B8%80%E5%8F%AA%E7%8B%97"):
        response = app_client.get("/api/search?" + query_string)
        assert response.status_code == 200 and len(response.json()["results"]) == 2, query_string


def test_a_query_of_unknown_words_only_is_answered_with_a_warning_not_an_error(app_client):
    response = app_client.get(search_path("xyzzy plugh", lang="en"))
    record = response.json()
    assert response.status_code == 200 and record["results"] == [] and record["unknown"] == ["xyzzy", "plugh"]
    assert record["warning"] and record["error"] is None
    batch = app_client.post("/api/search", json={"queries": ["xyzzy plugh", "", "a dog"], "lang": "en"})
    unknown, empty, dog = batch.json()
    assert batch.status_code == 200 and unknown == record
    assert empty["error"] == "empty query" and empty["warning"] is None
    invisible = app_client.get(search_path("\u200b\ufeff"))  # was 200, "no word of the query is known"
    assert invisible.status_code == 400 and invisible.json()["error"] == "empty query"
    assert dog["warning"] is None and dog["error"] is None and dog["results"]


def test_head_is_answered_as_get_without_a_body_and_405_names_every_method(app_client):
    """HEAD was a 405 everywhere (curl -I, monitors); a PUT to /api/search said 'Allow: GET', though POST works."""
    for path in ("/", "/api/health", search_path("a dog", lang="en")):
        head, get = app_client.head(path), app_client.get(path)
        assert head.status_code == get.status_code == 200 and head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
    refused = app_client.put("/api/search")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD, POST"
    assert app_client.post("/api/health").headers["allow"] == "GET, HEAD"


def test_a_token_guards_everything_and_the_page_sets_it_as_a_cookie(app_client):
    from starlette.testclient import TestClient

    from w2vv.retrieval.service import Settings, create_app
    state = app_client.app.state_of_service  # the loaded State of the other client
    guarded = TestClient(create_app(state, Settings(token="s3cret-token"), log=lambda line: None),
                         base_url="http://localhost")
    for path in ("/", "/api/health", search_path("dog"), "/docs", "/openapi.json"):
        response = guarded.get(path)
        assert response.status_code == 401 and "token" in response.json()["error"], path
    assert guarded.get("/api/health", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    assert guarded.get("/api/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    page = guarded.get("/?token=s3cret-token")
    assert page.status_code == 200 and "HttpOnly" in page.headers["set-cookie"] and \
        "SameSite=strict" in page.headers["set-cookie"]
    assert guarded.get(search_path("dog")).status_code == 200          # the cookie the page set
    assert guarded.get("/?token=s3cret-token&x=1").status_code == 200


def loading_app_with_token(token, lines):
    """The app with a token, logging the queries into ``lines``, still loading: no model needed."""
    from starlette.testclient import TestClient

    from w2vv.retrieval.service import Settings, State, create_app
    return TestClient(create_app(State(), Settings(token=token, log_queries=True), log=lines.append),
                      base_url="http://localhost")


@pytest.mark.parametrize("token", ['ab&cd%ef+gh#', 's3cret;x=y,"z\\(', "密码-密码-密码"])
def test_any_token_of_the_rule_opens_the_page_url_encoded_and_its_cookie_is_accepted(token):
    """A token with '&' or '%' was refused at /?token=, raw or URL-encoded, where 'Bearer' took it; one with ';'
    or '"' came back in a quoted cookie, refused."""
    client = loading_app_with_token(token, [])
    assert client.get("/?token=" + quote(token + "x", safe="")).status_code == 401
    page = client.get("/?token=" + quote(token, safe=""))
    assert page.status_code == 200 and "w2vv_token=" in page.headers["set-cookie"]
    assert client.get("/api/health").status_code == 503                 # loading: the cookie let it in
    client.cookies.clear()
    assert client.get("/api/health").status_code == 401
    assert client.get("/api/health", headers={"Authorization": ("Bearer " + token).encode()}).status_code == 503


def test_the_query_log_never_shows_the_token():
    token, lines = "s3cret-token&more", []
    client = loading_app_with_token(token, lines)
    for path in ("/?token=" + quote(token, safe=""), "/?x=1&token=wrong-guess", search_path("dog", token=token),
                 "/?%74oken=" + quote(token, safe="")):
        client.get(path)
        client.cookies.clear()
    assert len(lines) == 4 and not any("s3cret" in line or "wrong-guess" in line for line in lines), lines
    assert [line.split()[2] for line in lines] == ["/?token=…", "/?x=1&token=…", "/api/search?q=dog&token=…",
                                                   "/?token=…"]


def test_security_headers_hosts_and_the_docs_page_without_a_cdn(app_client):
    page = app_client.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp
    for path in ("/", "/api/health", search_path("dog"), "/nothing", "/docs"):
        response = app_client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
    for host, status in (("evil.example", 400), ("localhost:8000", 200), ("127.0.0.1", 200), ("[::1]:80", 200),
                         ("192.168.1.20:8000", 200), ("localhost.evil.example", 400)):
        response = app_client.get("/api/health", headers={"host": host})
        assert response.status_code == status, host
    docs = app_client.get("/docs").text
    assert "/openapi.json" in docs and not re.search(r"https?:|//[a-z]|@import", docs)
    spec = app_client.get("/openapi.json").json()
    assert set(spec["paths"]["/api/search"]["post"]["responses"]) >= {"200", "400", "413", "415", "503"}
    assert "422" not in json.dumps(spec) and "ValidationError" not in json.dumps(spec)  # never answered: a 400


# ---------------------------------------------------------------- in a browser

def _browser():
    pytest.importorskip("selenium")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("Chromium or its driver is not installed (apt-get install chromium chromium-driver)")
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must never try to download a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _wait_results(driver, k):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-results"))
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-results") == str(k)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#grid figure")) == k
    settled = ("return Array.from(document.querySelectorAll('#grid .picture')).every("
               "b => b.classList.contains('missing') || b.querySelector('img.loaded'))")
    WebDriverWait(driver, 60).until(lambda d: d.execute_script(settled))
    return driver.find_element(By.ID, "status").text, driver.find_element(By.ID, "notes").text, \
        [c.text for c in driver.find_elements(By.TAG_NAME, "figcaption")]


def _type_and_search(driver, query, k):
    from selenium.webdriver.common.by import By
    box, k_box = driver.find_element(By.ID, "q"), driver.find_element(By.ID, "k")
    box.clear()
    box.send_keys(query)
    k_box.clear()
    k_box.send_keys(str(k))
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    return _wait_results(driver, k)


def _pictures_on_screen(driver):
    """How many result pictures show a picture in a screenshot (not one flat colour)."""
    import io

    from PIL import Image, ImageStat
    from selenium.webdriver.common.by import By
    shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("L")
    ratio = driver.execute_script("return window.devicePixelRatio") or 1
    shown = 0
    for img in driver.find_elements(By.CSS_SELECTOR, "#grid img.loaded"):
        r = img.rect
        box = tuple(int(v * ratio) for v in (r["x"] + 4, r["y"] + 4, r["x"] + r["width"] - 4, r["y"] + r["height"] - 4))
        if box[2] > box[0] and box[3] > box[1] and box[3] <= shot.height:
            shown += ImageStat.Stat(shot.crop(box)).stddev[0] > 8
    return shown


def test_the_page_links_results_goes_back_enlarges_and_never_shows_a_broken_picture(server, expected, own_root):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    driver = _browser()
    driver.set_window_size(1200, 1000)
    try:
        # a link with ?q= searches at once, with the form filled from the address
        driver.get(server[0] + "/?" + "&".join(["q=" + quote("一只狗在草地上跑"), "k=5"]))
        read, notes, captions = _wait_results(driver, 5)
        assert "一只 狗 在 草地 上 跑" in read and "[zh, cm]" in read and notes == ""
        assert [c.split()[-1] for c in captions] == [h["id"] for h in expected[0]["results"]]
        assert driver.find_element(By.ID, "q").get_attribute("value") == "一只狗在草地上跑"
        assert _pictures_on_screen(driver) == 5                       # the screenshot shows 5 pictures
        # two query languages loaded: the language choice is shown; choosing one goes into the address
        choice = driver.find_element(By.ID, "lang-choice")
        assert choice.is_displayed()
        assert [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#lang option")] == \
            ["", "en", "zh"]
        driver.find_element(By.CSS_SELECTOR, "#lang option[value=en]").click()
        read, notes, en_captions = _type_and_search(driver, "a dog xyzzy on the grass", 4)
        assert "[en, cm]" in read and "unknown words: xyzzy" in notes and len(en_captions) == 4
        assert "lang=en" in driver.current_url and "k=4" in driver.current_url and "xyzzy" in driver.current_url
        # the back button: the first search again, its query in the box
        driver.back()
        read, _, captions = _wait_results(driver, 5)
        assert driver.find_element(By.ID, "q").get_attribute("value") == "一只狗在草地上跑"
        assert [c.split()[-1] for c in captions] == [h["id"] for h in expected[0]["results"]]
        # click to enlarge, Escape closes
        driver.find_elements(By.CSS_SELECTOR, "#grid .picture")[0].click()
        viewer = driver.find_element(By.ID, "viewer")
        WebDriverWait(driver, 30).until(lambda d: viewer.is_displayed() and d.execute_script(
            "const i = document.querySelector('#viewer img'); return i.complete && i.naturalWidth > 0"))
        assert captions[0].split()[-1] in viewer.text
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        WebDriverWait(driver, 10).until(lambda d: not viewer.is_displayed())
        # a result whose picture is gone (one not shown yet: the browser keeps those it has shown for a
        # day): its id in place of the picture, never a broken image
        shown = {c.split()[-1] for c in captions + en_captions} | {h["id"] for h in expected[0]["results"]}
        _, _, body = get(server[0], search_path("一只狗在草地上跑", k=20, mode="cm"))
        ranked = [h["id"] for h in json.loads(body)["results"]]
        position = next(i for i, img in enumerate(ranked) if img not in shown)
        missing = ranked[position]
        path = os.path.join(layout.image_dir(own_root[0], OWN), missing + ".jpg")
        os.rename(path, path + ".away")
        try:
            driver.get(server[0] + "/?q=" + quote("一只狗在草地上跑") + f"&k={position + 1}&mode=cm")
            _wait_results(driver, position + 1)
            # the picture's error event comes after the results are drawn: wait for it, and for the others to
            # load (the boxes found anew each time: a redraw replaces them)
            def settled(d):
                boxes = d.find_elements(By.CSS_SELECTOR, "#grid .picture")
                return (len(boxes) > position and "missing" in boxes[position].get_attribute("class") and
                        len(d.find_elements(By.CSS_SELECTOR, "#grid img.loaded")) == position)
            WebDriverWait(driver, 60, ignored_exceptions=[StaleElementReferenceException]).until(settled)
            boxes = driver.find_elements(By.CSS_SELECTOR, "#grid .picture")
            assert boxes[position].text == missing
            assert driver.execute_script("return Array.from(document.images).filter("
                                         "i => i.closest('#grid') && !(i.complete && i.naturalWidth > 0)).length") == 0
            assert len(driver.find_elements(By.CSS_SELECTOR, "#grid img.loaded")) == position
        finally:
            os.rename(path + ".away", path)
    finally:
        driver.quit()


# ---------------------------------------------------------------- hostile input: never a 500

@pytest.fixture(scope="module")
def app_client(own_root):
    """The app in this process (starlette's TestClient) around the same models and gallery."""
    from starlette.testclient import TestClient

    from w2vv.retrieval.searcher import Searcher
    from w2vv.retrieval.service import Settings, State, create_app, find_pictures, service_info, warm_up
    root = own_root[0]
    searcher = Searcher(model_args(root)[1::2], collection=OWN)
    warm_up(searcher)
    state = State()
    app = create_app(state, Settings(), log=lambda line: None)
    app.state_of_service = state
    client = TestClient(app, base_url="http://localhost", raise_server_exceptions=True)
    assert client.get("/api/health").status_code == 503                # loading: not ready yet
    state.set_ready(searcher, find_pictures(searcher, collection=OWN), service_info(searcher))
    return client


def check_answer(response, queries=None):
    """Never a 500; every error one JSON line {"error"}; a batch a record per query."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body, dict) and isinstance(body["error"], str) and "\n" not in body["error"], body
        assert set(body) == {"error"}, body
    elif queries is not None:
        assert isinstance(body, list) and len(body) == len(queries)
        for record, query in zip(body, queries):
            assert set(record) == {"query", "lang", "mode", "text", "unknown", "warning", "error", "results"}
            assert record["error"] is None or isinstance(record["error"], str)
            assert not (record["warning"] and record["error"]), record      # one or the other
            if isinstance(query, str) and not re.search("[\ud800-\udfff]", query):
                assert record["query"] == query


def json_values():
    from hypothesis import strategies as st
    text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30) | \
        st.sampled_from(["\ud800", "dog\udfff", "一只狗", "", " ", "\x00", "犬", "a" * 501, "猫の"])
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text

    def nested(children):
        return st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4)

    return st.recursive(scalars, nested, max_leaves=12)


def test_a_batch_of_any_json_answers_a_record_per_query_or_one_error(app_client):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    queries = st.lists(json_values(), min_size=1, max_size=6)
    body = st.one_of(queries, st.fixed_dictionaries({"queries": queries}, optional={
        "k": st.integers(-5, 2000) | json_values(), "mode": st.sampled_from(["cm", "cl", "clm", "x", None]),
        "lang": st.sampled_from(["zh", "en", "ja", "fr", None]) | json_values()}), json_values())

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body)
    def check(value):
        data = json.dumps(value, ensure_ascii=True)  # lone surrogates travel as \ud800 escapes
        response = app_client.post("/api/search", content=data, headers={"content-type": "application/json"})
        qs = value if isinstance(value, list) else value.get("queries") if isinstance(value, dict) else None
        well_formed = isinstance(qs, list) and 1 <= len(qs) <= 100 and response.status_code == 200
        check_answer(response, qs if well_formed else None)

    check()


def test_any_bytes_headers_and_parameters_get_json_and_no_500(app_client):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)
    request = st.fixed_dictionaries({
        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
        "path": st.sampled_from(["/api/search", "/api/health", "/", "/docs", "/images/x", "/openapi.json",
                                 "/api", "/images/", "/images/%ff", "/api/search/"]) | st.text(max_size=20).map(
            lambda t: "/" + quote(t, safe="/")),
        "params": st.dictionaries(st.sampled_from(["q", "k", "mode", "lang", "x"]),
                                  st.binary(max_size=20).map(quote) |
                                  st.text(max_size=20).map(lambda t: quote(t.encode("utf-8", "surrogatepass"))),
                                  max_size=4),
        "body": st.binary(max_size=300) | json_values().map(lambda v: json.dumps(v).encode()),
        "content_type": st.sampled_from(["application/json", "text/plain", "", "application/x+json",
                                         "application/json; charset=latin-1"]) | header_text,
        "headers": st.dictionaries(st.sampled_from(["accept", "x-odd", "cookie", "authorization", "range",
                                                     "if-none-match", "accept-encoding"]), header_text, max_size=3),
    })

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(request)
    def check(r):
        headers = {k: v.encode("latin-1") for k, v in r["headers"].items()}
        if r["content_type"]:
            headers["content-type"] = r["content_type"].encode("latin-1")
        query = "&".join(f"{k}={v}" for k, v in r["params"].items())
        response = app_client.request(r["method"], r["path"] + ("?" + query if query else ""),
                                      content=r["body"] if r["method"] != "GET" else None, headers=headers)
        if response.headers.get("content-type", "").startswith("application/json"):
            check_answer(response)
        else:  # the page, the docs page, a picture
            assert response.status_code == 200 and r["method"] == "GET", (r, response.status_code)

    check()


def test_raw_hostile_requests_get_a_json_error_and_memory_comes_back(server):
    base, log_path = server
    host, port = base.rsplit("/", 1)[-1].split(":")

    def raw(data, read=65536):
        with socket.create_connection((host, int(port)), timeout=30) as s:
            try:
                s.sendall(data)
            except OSError:  # the server answered and closed before the whole body was sent
                pass
            chunks = []
            while True:
                try:
                    chunk = s.recv(read)
                except OSError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body) if body else None

    def rss_mb():
        with open(f"/proc/{SERVER[base].pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024

    def post(body, content_type=b"application/json"):
        return (b"POST /api/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + content_type + b"\r\n" +
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)

    cases = [
        (b"GET /api/search?q=%ff%fe%80&k=3 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", (400,)),
        (b"GET /images/%c0%ae%c0%ae/etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", (404,)),
        (b"GET /api/health HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n", (400,)),
        (b"POST /api/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
         b"Content-Length: 500000000\r\nConnection: close\r\n\r\n[\"dog\"", (413,)),
        (b"POST /api/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
         b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
         b"".join(b"100000\r\n" + b"[" * 0x100000 + b"\r\n" for _ in range(3)) + b"0\r\n\r\n", (413,)),
        (post(b"[" * 200000), (400,)),
        (post(b'["\\ud800x", "dog"]'), (200,)),
        (post(b'["\xff"]'), (400,)),
        (post(b'["dog"]', b"text/plain"), (415,)),
        (b'POST /api/search HTTP/1.1\r\nHost: localhost\r\nContent-Length: 7\r\nConnection: close\r\n\r\n["dog"]',
         (415,)),  # a fetch of a Blob from another site sends none, and needs no preflight
    ]
    for data, statuses in cases:
        status, body = raw(data)
        assert status in statuses, (data[:80], status, body)
        assert body is not None and (status == 200 or set(body) == {"error"}), (data[:80], body)
    before = rss_mb()
    for i in range(20):  # bodies near the limit: JSON of the wrong shape, many queries, deep nesting
        for data in (b"[" + b'"a",' * 250000 + b'"a"]', b"[" * 1000000, json.dumps(["狗" * 500] * 100).encode()):
            status, body = raw(b"POST /api/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                               b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(data) + data)
            assert status in (200, 400, 413), (status, body)
    assert rss_mb() - before < 100, (before, rss_mb())
    assert "Traceback" not in log_path.read_text()
