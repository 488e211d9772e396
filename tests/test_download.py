"""The real download path, exercised for real against an HTTP server on 127.0.0.1.

Every test serves files the test writes itself in the dataset's real format, points the
registry at the local server (URLs and checksums monkeypatched), and uses ``tmp_path``
as ``TLH_DATA_DIR``. Nothing here touches the internet.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import hashlib
import io
import socket
import tarfile
import threading
import time
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tlhelpers.data.download import UNKNOWN, fetch, verify_file
from tlhelpers.data.errors import ChecksumError, DatasetUnavailableError
from tlhelpers.data.registry import REAL_DATASETS, load_real

# ============================================================================ local server


@dataclasses.dataclass
class Route:
    body: bytes
    status: int = 200
    truncate_to: int | None = None  # send this many bytes, announce len(body), then close
    delay: float = 0.0              # seconds before answering (timeouts)
    trickle: float = 0.0            # seconds between single bytes (a stalling server)
    length: bool = True             # send Content-Length (False: the end is the close)
    content_type: str = "application/octet-stream"
    later: list[bytes] = dataclasses.field(default_factory=list)  # bodies of later requests


class LocalServer:
    """A real HTTP server on an ephemeral port, serving in-memory files."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a stuck client cannot hold a server thread for long

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
                server.requests.append(path)
                route = server.routes.get(path)
                if route is None:
                    self.send_error(404, "not found")
                    return
                body = route.body
                if route.later:
                    route.body = route.later.pop(0)
                if route.delay:
                    time.sleep(route.delay)
                if route.status != 200:
                    self.send_error(route.status, "test error")
                    return
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                if route.length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if route.trickle:
                    try:
                        for i in range(len(body)):
                            self.wfile.write(body[i:i + 1])
                            self.wfile.flush()
                            time.sleep(route.trickle)
                    except OSError:  # the client gave up: that is the point
                        pass
                    return
                if route.truncate_to is None:
                    self.wfile.write(body)
                    if not route.length:
                        self.close_connection = True
                else:
                    self.wfile.write(body[:route.truncate_to])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_WR)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.running = True

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{urllib.parse.quote(path)}"

    def serve(self, path: str, body: bytes, **kwargs) -> str:
        self.routes[path] = Route(body, **kwargs)
        return self.url(path)

    def stop(self) -> None:
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=5)
            self.running = False


def closed_port_url(path: str = "/nothing") -> str:
    """A URL on a port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


@pytest.fixture
def server():
    srv = LocalServer()
    yield srv
    srv.stop()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("TLH_DATA_DIR", str(root))
    monkeypatch.delenv("TLH_OFFLINE", raising=False)
    return root


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) \
        if root.exists() else []


def point_registry_at(monkeypatch, server: LocalServer, name: str, payloads: dict[str, bytes],
                      *, checksums: dict[str, str] | None = None,
                      unknown: bool = False) -> dict[str, str]:
    """Serve each payload and make ``REAL_DATASETS[name]`` download it from the server.

    ``checksums`` overrides the SHA-256 of some files (to test mismatches); ``unknown``
    makes every file "no published checksum" (trust on first use).
    """
    info = REAL_DATASETS[name]
    files = dict(info.files)
    urls = {}
    for key, body in payloads.items():
        remote = files[key]
        url = server.serve(f"/{name}/{remote.filename}", body)
        urls[key] = url
        digest = (checksums or {}).get(key, sha256(body))
        files[key] = dataclasses.replace(remote, urls=(url,),
                                         sha256=UNKNOWN if unknown else digest,
                                         md5=None, size=None)
    monkeypatch.setitem(REAL_DATASETS, name, dataclasses.replace(info, files=files))
    return urls


# ============================================================================ real formats


def idx_bytes(arr: np.ndarray) -> bytes:
    """Gzipped IDX (MNIST) encoding of a uint8 array."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return gzip.compress(header + arr.tobytes(), mtime=0)


def mnist_payloads(n_train: int = 12, n_test: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    return {k: idx_bytes(v) for k, v in arrays.items()}, arrays


def medmnist_npz(sizes=(10, 4, 6), rgb: bool = False, n_classes: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in zip(("train", "val", "test"), sizes):
        shape = (n, 28, 28, 3) if rgb else (n, 28, 28)
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, n_classes, (n, 1), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue(), arrays


UCI_LINES = {
    "amazon_cells_labelled.txt": ["So there is no way for me to plug it in here.\t0",
                                  "Good case, Excellent value.\t1",
                                  "Great for the jawbone.\t1",
                                  "Tied to charger for conversations lasting more than "
                                  "45 minutes.MAJOR PROBLEMS!!\t0",
                                  "The mic is great.\t1", "I have to jiggle the plug.\t0"],
    "imdb_labelled.txt": ["A very, very, very slow-moving, aimless movie.  \t0",
                          "Not sure who was more lost - the flat characters or the audience.  \t0",
                          "The best scene in the movie was when Gerardo is trying to find a "
                          "song.  \t1",
                          "Saw the movie today and thought it was a good effort.  \t1",
                          "Loved the casting.  \t1", "Very little music.  \t0"],
    "yelp_labelled.txt": ["Wow... Loved this place.\t1", "Crust is not good.\t0",
                          "Not tasty and the texture was just nasty.\t0",
                          "The selection on the menu was great.\t1",
                          "Service was très slow.\t0", "Highly recommended.\t1"],
}


def uci_zip(lines=UCI_LINES) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for fname, rows in lines.items():
            zf.writestr(f"sentiment labelled sentences/{fname}", "\n".join(rows) + "\n")
        zf.writestr("sentiment labelled sentences/readme.txt", "From Group to Individual...\n")
        zf.writestr("__MACOSX/sentiment labelled sentences/._yelp_labelled.txt", b"\x00\x05junk")
    return buf.getvalue()


SST_TRAIN = [("hide new secretions from the parental units ", 0),
             ("contains no wit , only labored gags ", 0),
             ("that loves its characters and communicates something rather beautiful "
              "about human nature ", 1),
             ("the greatest musicians ", 1), ("it 's a \"charming\" and often affecting "
                                              "journey . ", 1)]
SST_DEV = [("it 's a charming and often affecting journey . ", 1),
           ("unflinchingly bleak and desperate ", 0), ("allows us to hope . ", 1)]


def sst2_zip() -> bytes:
    def tsv(rows):
        return "sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in rows)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("SST-2/train.tsv", tsv(SST_TRAIN))
        zf.writestr("SST-2/dev.tsv", tsv(SST_DEV))
        zf.writestr("SST-2/test.tsv", "index\tsentence\n0\tuneasy mishmash of styles\n")
        zf.writestr("SST-2/original/README.txt", "original SST files\n")
    return buf.getvalue()


def usps_bz2(n: int = 9, seed: int = 0, sparse: bool = False):
    """LIBSVM lines 'label 1:v ... 256:v' with v in [-1, 1] and labels 1..10."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 256)).round(6).astype(np.float32)
    y = rng.integers(1, 11, n)
    if sparse:
        x[:, ::7] = 0.0
    lines = []
    for xi, yi in zip(x, y):
        feats = " ".join(f"{j + 1}:{v:g}" for j, v in enumerate(xi) if not (sparse and v == 0))
        lines.append(f"{yi} {feats}")
    return bz2.compress(("\n".join(lines) + "\n").encode()), x, y


def _png(arr: np.ndarray, fmt: str = "PNG") -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def mnist_m_targz(n_train: int = 8, n_test: int = 4, seed: int = 0, size: int = 32):
    """Ganin's layout: mnist_m/mnist_m_{split}/NNNNNNNN.png + mnist_m_{split}_labels.txt,
    32×32 RGB images like the real release."""
    rng = np.random.default_rng(seed)
    out = {}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for split, n in (("train", n_train), ("test", n_test)):
            imgs = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
            labels = rng.integers(0, 10, n)
            for i in range(n):
                _add(tf, f"mnist_m/mnist_m_{split}/{i:08d}.png", _png(imgs[i]))
            # The label list comes after the images, as in the original archive.
            text = "".join(f"{i:08d}.png {labels[i]}\n" for i in range(n))
            _add(tf, f"mnist_m/mnist_m_{split}_labels.txt", text.encode())
            out[split] = (imgs, labels)
    return buf.getvalue(), out


def imagenette_tgz(per_class: int = 2, seed: int = 0):
    from tlhelpers.data.registry import IMAGENETTE_WNIDS
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    counts = {}
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        _add(tf, "imagenette2-160/noisy_imagenette.csv", b"path,noisy_labels_0\n")
        for split in ("train", "val"):
            counts[split] = 0
            for wnid in IMAGENETTE_WNIDS[:3]:
                for i in range(per_class):
                    h, w = (160, 200 + 10 * i) if i % 2 == 0 else (213, 160)
                    arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                    _add(tf, f"imagenette2-160/{split}/{wnid}/{wnid}_{i}.JPEG", _png(arr, "JPEG"))
                    counts[split] += 1
    return buf.getvalue(), counts


# ============================================================================ tests


def test_download_verifies_saves_and_parses(server, cache, monkeypatch):
    payloads, arrays = mnist_payloads()
    point_registry_at(monkeypatch, server, "mnist", payloads)

    ds = load_real("mnist", "train")  # with the tqdm progress bar

    assert ds.source == "download" and not ds.synthetic
    assert ds.x.dtype == np.float32 and ds.x.shape == (12, 28, 28, 1)
    np.testing.assert_allclose(ds.x[..., 0] * 255, arrays["train_images"], atol=1e-3)
    np.testing.assert_array_equal(ds.y, arrays["train_labels"])
    assert ds.class_names == list("0123456789") and ds.split == "train"
    assert "LeCun" in ds.meta["citation"] and ds.meta["licence"]
    # Only the two training files were fetched, each saved under its original name.
    assert files_under(cache) == ["mnist/train-images-idx3-ubyte.gz",
                                  "mnist/train-labels-idx1-ubyte.gz"]
    assert (cache / "mnist" / "train-images-idx3-ubyte.gz").read_bytes() == payloads["train_images"]
    assert len(server.requests) == 2


def test_cache_hit_makes_no_request_even_with_server_down(server, cache, monkeypatch):
    payloads, arrays = mnist_payloads()
    point_registry_at(monkeypatch, server, "mnist", payloads)
    first = load_real("mnist", "test", progress=False)
    n_requests = len(server.requests)
    server.stop()

    again = load_real("mnist", "test", progress=False)

    assert first.source == "download" and again.source == "cache"
    assert len(server.requests) == n_requests
    np.testing.assert_array_equal(again.y, arrays["test_labels"])


def test_file_placed_by_hand_is_used_without_network(cache, monkeypatch):
    body, arrays = medmnist_npz()
    info = REAL_DATASETS["breastmnist"]
    dead = closed_port_url("/breastmnist.npz")
    remote = dataclasses.replace(info.files["npz"], urls=(dead,), sha256=sha256(body), md5=None)
    monkeypatch.setitem(REAL_DATASETS, "breastmnist",
                        dataclasses.replace(info, files={"npz": remote}))
    dest = cache / "breastmnist" / "breastmnist.npz"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(body)

    ds = load_real("breastmnist", "val", progress=False)

    assert ds.source == "cache" and len(ds) == 4
    np.testing.assert_array_equal(ds.y, arrays["val_labels"].ravel())


def test_checksum_mismatch_leaves_no_file(server, cache, monkeypatch):
    body, _ = medmnist_npz()
    point_registry_at(monkeypatch, server, "pneumoniamnist", {"npz": body},
                      checksums={"npz": "0" * 64})

    with pytest.raises(ChecksumError) as err:
        load_real("pneumoniamnist", "train", progress=False)

    msg = str(err.value)
    assert "pneumoniamnist" in msg and "SHA-256" in msg and "0" * 64 in msg
    assert files_under(cache) == []  # neither the file nor a .part temp file


@pytest.mark.parametrize("status", [404, 500, 503])
def test_server_error_raises_clearly_and_leaves_no_file(server, cache, monkeypatch, status):
    payloads, _ = mnist_payloads()
    urls = point_registry_at(monkeypatch, server, "mnist", payloads)
    server.routes["/mnist/train-images-idx3-ubyte.gz"].status = status

    with pytest.raises(DatasetUnavailableError) as err:
        load_real("mnist", "train", progress=False)

    msg = str(err.value)
    assert f"HTTP {status}" in msg and urls["train_images"] in msg
    assert "train-images-idx3-ubyte.gz" not in files_under(cache)
    assert not [f for f in files_under(cache) if f.endswith(".part")]


def test_interrupted_transfer_is_not_kept(server, cache, monkeypatch):
    body, _ = medmnist_npz()
    point_registry_at(monkeypatch, server, "dermamnist", {"npz": body})
    server.routes["/dermamnist/dermamnist.npz"].truncate_to = len(body) // 3

    with pytest.raises(DatasetUnavailableError) as err:
        load_real("dermamnist", "test", progress=False)

    assert "interrupted" in str(err.value)
    assert files_under(cache) == []


def test_interrupted_transfer_of_unchecksummed_file_is_not_trusted(server, cache):
    """Without a published checksum only Content-Length can catch a short transfer."""
    body = uci_zip()
    url = server.serve("/uci.zip", body, truncate_to=len(body) - 10)

    with pytest.raises(DatasetUnavailableError):
        fetch(url, "sentiment labelled sentences.zip", UNKNOWN, dataset="uci-sentiment",
              progress=False, timeout=5)

    assert files_under(cache) == []  # no file, no recorded checksum


def test_connection_refused(cache):
    url = closed_port_url("/SST-2.zip")
    with pytest.raises(DatasetUnavailableError) as err:
        fetch(url, "SST-2.zip", "a" * 64, dataset="sst2", progress=False, timeout=5)
    msg = str(err.value)
    assert "cannot connect" in msg and url in msg
    assert str(cache / "sst2" / "SST-2.zip") in msg
    assert files_under(cache) == []


def test_timeout(server, cache):
    url = server.serve("/slow.npz", b"x" * 100, delay=2.0)
    t0 = time.monotonic()
    with pytest.raises(DatasetUnavailableError) as err:
        fetch(url, "slow.npz", sha256(b"x" * 100), dataset="slow", progress=False, timeout=0.3)
    assert "timed out" in str(err.value)
    assert time.monotonic() - t0 < 2.0
    assert files_under(cache) == []


def test_mirrors_are_tried_in_order(server, cache):
    body = sst2_zip()
    bad = server.serve("/mirror1/SST-2.zip", body, status=500)
    wrong = server.serve("/mirror2/SST-2.zip", b"not the published file")
    good = server.serve("/mirror3/SST-2.zip", body)

    path = fetch([bad, wrong, good], "SST-2.zip", sha256(body), dataset="sst2",
                 size=len(body), progress=False, timeout=5)

    assert path == cache / "sst2" / "SST-2.zip" and path.read_bytes() == body
    assert server.requests == ["/mirror1/SST-2.zip", "/mirror2/SST-2.zip", "/mirror3/SST-2.zip"]
    assert files_under(cache) == ["sst2/SST-2.zip"]


def test_offline_and_uncached_says_what_to_do(server, cache, monkeypatch):
    payloads, _ = mnist_payloads()
    urls = point_registry_at(monkeypatch, server, "mnist", payloads)
    monkeypatch.setenv("TLH_OFFLINE", "1")

    with pytest.raises(DatasetUnavailableError) as err:
        load_real("mnist", "train", progress=False)

    msg = str(err.value)
    assert "'mnist'" in msg                                   # the dataset
    assert "train-images-idx3-ubyte.gz" in msg                # the file it needs
    assert urls["train_images"] in msg                        # where to get it
    assert str(cache / "mnist" / "train-images-idx3-ubyte.gz") in msg  # exact path
    assert "TLH_OFFLINE" in msg
    assert str(cache / "mnist" / "train-labels-idx1-ubyte.gz") in msg  # the split's other file
    assert server.requests == []                              # and no network at all


def test_download_false_is_offline_too(server, cache, monkeypatch):
    body = sst2_zip()
    point_registry_at(monkeypatch, server, "sst2", {"zip": body})
    with pytest.raises(DatasetUnavailableError) as err:
        load_real("sst2", "dev", download=False)
    assert "download=False" in str(err.value) and server.requests == []


def test_cached_file_with_wrong_checksum_is_replaced_online(server, cache, monkeypatch):
    body = sst2_zip()
    point_registry_at(monkeypatch, server, "sst2", {"zip": body})
    dest = cache / "sst2" / "SST-2.zip"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(body[:-50])  # a truncated copy from an earlier, broken attempt

    with pytest.warns(UserWarning, match="cannot be trusted"):
        ds = load_real("sst2", "dev", progress=False)

    assert ds.source == "download" and dest.read_bytes() == body
    assert ds.x[1] == "unflinchingly bleak and desperate"


def test_cached_file_with_wrong_checksum_is_refused_offline(server, cache, monkeypatch):
    body = sst2_zip()
    point_registry_at(monkeypatch, server, "sst2", {"zip": body})
    dest = cache / "sst2" / "SST-2.zip"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"PK\x03\x04 something else")
    monkeypatch.setenv("TLH_OFFLINE", "1")

    with pytest.raises(ChecksumError) as err:
        load_real("sst2", "train", progress=False)

    assert str(dest) in str(err.value) and "cannot be trusted" in str(err.value)
    assert server.requests == []


def test_unknown_checksum_is_trusted_on_first_use_then_enforced(server, cache, monkeypatch):
    body = uci_zip()
    point_registry_at(monkeypatch, server, "uci-sentiment", {"zip": body}, unknown=True)
    dest = cache / "uci-sentiment" / "sentiment labelled sentences.zip"

    ds = load_real("uci-sentiment", "all", progress=False)
    assert ds.source == "download" and len(ds) == 18
    record = dest.with_name(dest.name + ".sha256")
    assert record.read_text() == f"{sha256(body)}  {dest.name}\n"  # sha256sum -c format
    assert verify_file(dest) is None

    # The cached copy is damaged later: offline it is refused, online fetched again.
    dest.write_bytes(body[:100])
    monkeypatch.setenv("TLH_OFFLINE", "1")
    with pytest.raises(ChecksumError, match="recorded"):
        load_real("uci-sentiment", "all")
    monkeypatch.delenv("TLH_OFFLINE")
    with pytest.warns(UserWarning):
        again = load_real("uci-sentiment", "yelp", progress=False)
    assert again.source == "download" and dest.read_bytes() == body and len(again) == 6


def test_size_mismatch_is_a_checksum_error(server, cache):
    body = b"\x00" * 64
    url = server.serve("/f.bin", body)
    with pytest.raises(ChecksumError, match="bytes"):
        fetch(url, "f.bin", UNKNOWN, dataset="sizes", size=65, progress=False, timeout=5)
    assert files_under(cache) == []


def test_fetch_with_md5_only(server, cache):
    body, _, _ = usps_bz2()
    url = server.serve("/usps.bz2", body)
    path = fetch(url, "usps.bz2", None, md5=hashlib.md5(body).hexdigest(), dataset="usps",
                 progress=False, timeout=5)
    assert path.read_bytes() == body
    with pytest.raises(ChecksumError, match="MD5"):
        fetch(url, "usps.t.bz2", None, md5="f" * 32, dataset="usps", progress=False, timeout=5)
    assert files_under(cache) == ["usps/usps.bz2"]


def test_filename_must_be_bare(cache):
    with pytest.raises(ValueError):
        fetch("http://127.0.0.1:9/x", "../escape.zip", "a" * 64, dataset="x", progress=False)


# ============================================================================ real networks (issue 9)

LOGIN_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Sign in to CampusNet</title></head>"
              b"<body><form action='/login'>...</form></body></html>\n")


def test_captive_portal_is_named_and_falls_back(server, cache, monkeypatch):
    """A 200 response with a login page: not a ChecksumError that escapes fallback=."""
    from tlhelpers.data import load_dataset

    body, _ = medmnist_npz()
    point_registry_at(monkeypatch, server, "breastmnist", {"npz": body})
    route = server.routes["/breastmnist/breastmnist.npz"]
    route.body, route.content_type = LOGIN_PAGE, "text/html; charset=utf-8"

    with pytest.raises(DatasetUnavailableError) as err:
        load_real("breastmnist", "test", progress=False)
    assert "web page" in str(err.value) and "login" in str(err.value)
    assert "registry must be updated" not in str(err.value)
    assert files_under(cache) == []

    with pytest.warns(UserWarning, match="'breastmnist'.*'medical-standin'"):
        ds = load_dataset("breastmnist", "test", n=8, fallback="medical-standin", progress=False)
    assert ds.name == "medical-standin" and "web page" in ds.meta["fallback_reason"]


@pytest.mark.parametrize("served", [
    dict(body=LOGIN_PAGE, content_type="text/html"),       # a captive portal
    dict(body=b""),                                        # an empty body
    dict(body=uci_zip(), length=False, truncate_to=700),   # cut short, no Content-Length
], ids=["login page", "empty body", "truncated body"])
def test_trust_on_first_use_never_trusts_garbage(server, cache, monkeypatch, served):
    body = served.pop("body")
    point_registry_at(monkeypatch, server, "uci-sentiment", {"zip": body}, unknown=True)
    route = server.routes["/uci-sentiment/sentiment labelled sentences.zip"]
    for key, value in served.items():
        setattr(route, key, value)

    with pytest.raises(DatasetUnavailableError):
        load_real("uci-sentiment", "all", progress=False)
    assert files_under(cache) == []  # neither the file nor a trust record

    # The network is back: the genuine file is fetched, parsed, then trusted.
    route.body, route.truncate_to, route.length, route.content_type = \
        uci_zip(), None, True, "application/zip"
    ds = load_real("uci-sentiment", "all", progress=False)
    assert len(ds) == 18 and ds.source == "download"


def test_a_trusted_login_page_from_an_older_version_is_deleted(server, cache, monkeypatch):
    """A cache poisoned before parse-before-trust heals itself instead of failing for ever."""
    point_registry_at(monkeypatch, server, "uci-sentiment", {"zip": uci_zip()}, unknown=True)
    dest = cache / "uci-sentiment" / "sentiment labelled sentences.zip"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(LOGIN_PAGE)
    dest.with_name(dest.name + ".sha256").write_text(f"{sha256(LOGIN_PAGE)}  {dest.name}\n")

    monkeypatch.setenv("TLH_OFFLINE", "1")
    with pytest.warns(UserWarning, match="deleted"), pytest.raises(DatasetUnavailableError):
        load_real("uci-sentiment", "all")
    assert files_under(cache) == []
    monkeypatch.delenv("TLH_OFFLINE")
    assert len(load_real("uci-sentiment", "yelp", progress=False)) == 6


def test_trickling_server_hits_the_per_file_deadline(server, cache):
    body = b"x" * 10_000
    url = server.serve("/trickle.bin", body, trickle=0.02)  # 50 bytes/s: 200 s for the file
    t0 = time.monotonic()
    with pytest.raises(DatasetUnavailableError, match="deadline of 0.5 s"):
        fetch([url, url], "trickle.bin", sha256(body), dataset="slow", progress=False,
              timeout=2, deadline=0.5)
    assert time.monotonic() - t0 < 2.0  # one deadline for the file, not one per mirror
    assert files_under(cache) == []


_CHILD = """
import sys
from tlhelpers.data.download import fetch
fetch(sys.argv[1], "big.bin", "0" * 64, dataset="killed", progress=False, timeout=30, deadline=60)
"""


def test_part_file_of_a_killed_process_is_removed_next_time(server, cache):
    import signal
    import subprocess
    import sys

    body = b"y" * 4000
    slow = server.serve("/slow/big.bin", body, trickle=0.01)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, slow], env={**__import__("os").environ})
    folder = cache / "killed"
    deadline = time.monotonic() + 20
    while not list(folder.glob(".big.bin.*.part")) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    parts = list(folder.glob(".big.bin.*.part"))
    assert len(parts) == 1, "the child should have left its .part file behind"

    fast = server.serve("/fast/big.bin", body)
    path = fetch(fast, "big.bin", sha256(body), dataset="killed", progress=False, timeout=5)
    assert path.read_bytes() == body
    assert files_under(cache) == ["killed/big.bin"]


def test_part_file_of_a_running_download_is_kept(server, cache):
    """Another process's download in progress must not be deleted under it."""
    import socket as socket_module
    import subprocess
    import sys

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        host = "".join(ch for ch in socket_module.gethostname() if ch.isalnum() or ch == "-")[:32]
        folder = cache / "busy"
        folder.mkdir(parents=True)
        theirs = folder / f".f.bin.{host}-{sleeper.pid}.abc123.part"
        theirs.write_bytes(b"partial")
        body = b"z" * 100
        fetch(server.serve("/f.bin", body), "f.bin", sha256(body), dataset="busy",
              progress=False, timeout=5)
        assert theirs.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_two_file_split_offline_lists_every_url(server, cache, monkeypatch):
    payloads, _ = mnist_payloads()
    urls = point_registry_at(monkeypatch, server, "mnist", payloads)
    monkeypatch.setenv("TLH_OFFLINE", "1")
    with pytest.raises(DatasetUnavailableError) as err:
        load_real("mnist", "test", progress=False)
    msg = str(err.value)
    assert urls["test_images"] in msg and urls["test_labels"] in msg
    assert str(cache / "mnist" / "t10k-labels-idx1-ubyte.gz") in msg


def test_concurrent_first_use_leaves_a_record_that_matches_the_file(server, cache, monkeypatch):
    """Two downloaders receive different bytes (a file changed on the server mid-way)."""
    import os

    first, second = uci_zip(), uci_zip({**UCI_LINES, "yelp_labelled.txt": ["Meh.\t0", "Yum.\t1"]})
    url = server.serve("/uci.zip", first, later=[second])
    a_publishing, b_done = threading.Event(), threading.Event()
    real_replace, real_link = os.replace, os.link

    def hold_a(src, dst, real):
        # Thread A reaches its publishing step first, then waits until B has finished.
        if str(dst).endswith(".zip") and threading.current_thread().name == "A":
            a_publishing.set()
            b_done.wait(10)
        return real(src, dst)

    monkeypatch.setattr(os, "replace", lambda s, d: hold_a(s, d, real_replace))
    monkeypatch.setattr(os, "link", lambda s, d: hold_a(s, d, real_link))
    errors = []

    def get(name):
        try:
            fetch(url, "sentiment labelled sentences.zip", UNKNOWN, dataset="uci-sentiment",
                  progress=False, timeout=5)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            if name == "B":
                b_done.set()

    a = threading.Thread(target=get, args=("A",), name="A")
    a.start()
    assert a_publishing.wait(10)
    b = threading.Thread(target=get, args=("B",), name="B")
    b.start()
    b.join(10)
    a.join(10)
    assert not errors
    dest = cache / "uci-sentiment" / "sentiment labelled sentences.zip"
    assert dest.read_bytes() in (first, second)
    assert verify_file(dest) is None, "the trust record disagrees with the file"
    monkeypatch.setenv("TLH_OFFLINE", "1")
    assert len(load_real("uci-sentiment", "all")) > 0


def test_relative_data_dir_is_resolved_against_home(tmp_path, monkeypatch):
    from tlhelpers import data_dir

    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    monkeypatch.setenv("TLH_DATA_DIR", "course-data")
    notebook = tmp_path / "lessons" / "keras" / "01"
    notebook.mkdir(parents=True)
    monkeypatch.chdir(notebook)
    assert data_dir() == tmp_path / "home" / "course-data"
    assert (tmp_path / "home" / "course-data").is_dir()


def test_data_dir_that_is_a_file_is_a_clear_error(tmp_path, monkeypatch):
    from tlhelpers import data_dir
    from tlhelpers.data.errors import CacheDirError

    (tmp_path / "cache").write_text("not a folder")
    monkeypatch.setenv("TLH_DATA_DIR", str(tmp_path / "cache"))
    with pytest.raises(CacheDirError, match="TLH_DATA_DIR must be a folder"):
        data_dir()
    with pytest.raises(DatasetUnavailableError, match="TLH_DATA_DIR"):
        fetch("http://127.0.0.1:9/x.bin", "x.bin", "a" * 64, dataset="x", progress=False)


@pytest.mark.skipif(getattr(__import__("os"), "geteuid", lambda: 1)() == 0,
                    reason="root can write anywhere")
def test_unwritable_data_dir_is_a_clear_error(server, tmp_path, monkeypatch):
    from tlhelpers.data.errors import CacheDirError

    root = tmp_path / "shared"
    root.mkdir()
    root.chmod(0o555)
    monkeypatch.setenv("TLH_DATA_DIR", str(root))
    try:
        with pytest.raises(CacheDirError, match="not writable|cannot create"):
            fetch(server.serve("/x.bin", b"x"), "x.bin", sha256(b"x"), dataset="x",
                  progress=False, timeout=5)
    finally:
        root.chmod(0o755)


@pytest.mark.parametrize("shared", [False, True], ids=["private cache", "group cache"])
def test_cached_files_are_readable_by_others_whatever_the_umask(server, tmp_path, monkeypatch,
                                                                shared):
    import os
    import stat

    root = tmp_path / "cache"
    root.mkdir()
    if shared:
        root.chmod(0o2775)  # a classroom's group folder (setgid, group-writable)
    monkeypatch.setenv("TLH_DATA_DIR", str(root))
    body = uci_zip()
    old = os.umask(0o077)
    try:
        fetch(server.serve("/uci.zip", body), "sentiment labelled sentences.zip", UNKNOWN,
              dataset="uci-sentiment", progress=False, timeout=5)
    finally:
        os.umask(old)
    folder = root / "uci-sentiment"
    file_mode, dir_mode = (0o664, 0o775) if shared else (0o644, 0o755)
    assert stat.S_IMODE(folder.stat().st_mode) & 0o777 == dir_mode
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == file_mode, path.name

