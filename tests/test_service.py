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
from tools.make_demo_data import FEATURE as DEMO_FEATURE, _picture, compose_images, make_demo_root

pytestmark = pytest.mark.slow  # features extracted, two models trained

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SEED, SCALE = 0, 0.1
CNN, FEATURE = "mobilenetv3small", "mobilenetv3small_none_avgpool"
CONFIG = "w2vv_attention_ctl"
OVERRIDES = f"lstm_size=16,n_layers=0-32-feat,img_feature={FEATURE}"
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
                        "--cnn", CNN, "--weights", "none", "--image_size", "64"], log, timeout=600)
        for (train, val, test), epochs in ((ZH, 2), (EN, 1)):
            run_script(["build_vocab.py", train, "--rootpath", r], log, timeout=600)
            run_script(["trainer.py", train, val, test, "--rootpath", r, "--model_config", CONFIG, "--seed", "0",
                        "--config_overrides", OVERRIDES, "--max_epochs", str(epochs), "--batch_size", "16"],
                       log, timeout=600)
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
            time.sleep(0.5)
        yield base, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)


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
    """The same record; scores to float32 precision (one query at a time vs a batch of 20)."""
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
    assert batch.status_code == 200 and batch.json() == expected                # the same batch: identical
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
                             ({"queries": ["dog"], "k": 0}, "k = 0"), ([1, 2], "body"), ({"k": 3}, "body")]:
        response = httpx.post(base + "/api/search", json=payload, timeout=60)
        assert response.status_code == 400 and message in response.json()["error"], (payload, response.text)
    broken = httpx.post(base + "/api/search", content=b"[\"dog\"", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and "error" in broken.json()


def test_images_only_of_the_gallery_with_caching_headers(server, own_root):
    base, _ = server
    root, test_ids = own_root
    thumbs = layout.image_dir(root, OWN)
    status, headers, body = get(base, f"/images/{test_ids[0]}")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert body == open(os.path.join(thumbs, test_ids[0] + ".jpg"), "rb").read()
    assert "max-age" in headers["cache-control"] and headers.get("etag")
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


def test_one_log_line_per_request(server):
    base, log_path = server
    for i in range(3):
        get(base, search_path(f"a dog number{i}"))
    text = log_path.read_text()
    for i in range(3):
        assert len(re.findall(rf"127\.0\.0\.1 GET /api/search\?q=a%20dog%20number{i} 200 [\d.]+ms", text)) == 1


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


def _type_and_search(driver, query, k):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    box, k_box = driver.find_element(By.ID, "q"), driver.find_element(By.ID, "k")
    box.clear()
    box.send_keys(query)
    k_box.clear()
    k_box.send_keys(str(k))
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-results"))
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-results") == str(k)
    loaded = "return Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
    WebDriverWait(driver, 60).until(lambda d: d.execute_script(loaded) == k)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#grid figure img")) == k
    return driver.find_element(By.ID, "read").text, driver.find_element(By.ID, "notes").text, \
        [c.text for c in driver.find_elements(By.TAG_NAME, "figcaption")]


def test_the_page_answers_a_chinese_then_an_english_query_with_thumbnails(server, expected):
    driver = _browser()
    try:
        driver.get(server[0] + "/")
        read, notes, captions = _type_and_search(driver, "一只狗在草地上跑", 5)
        assert "一只 狗 在 草地 上 跑" in read and "[zh, cm]" in read and notes == ""
        assert [c.split()[-1] for c in captions] == [h["id"] for h in expected[0]["results"]]
        read, notes, captions = _type_and_search(driver, "a dog xyzzy on the grass", 4)
        assert "[en, cm]" in read and "unknown words: xyzzy" in notes and len(captions) == 4
    finally:
        driver.quit()
