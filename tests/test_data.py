"""Tests of course_utils.data: CIFAR-10 reading and download, the synthetic cache, dataset choice."""
from __future__ import annotations

import hashlib
import http.server
import io
import pickle
import socket
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from course_utils import data, synthetic


def _write_fake_cifar(folder: Path, per_batch: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """Write CIFAR-10-format pickle batches with random content; return what the loader should give."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    rows, labels = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch_rows = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        batch_labels = rng.integers(0, 10, size=per_batch).tolist()
        with (folder / name).open("wb") as handle:
            pickle.dump({b"data": batch_rows, b"labels": batch_labels, b"batch_label": name.encode()}, handle)
        rows.append(batch_rows)
        labels.append(batch_labels)
    with (folder / "batches.meta").open("wb") as handle:
        pickle.dump({b"label_names": [n.encode() for n in data.CIFAR10_CLASSES]}, handle)
    return {"train_rows": np.concatenate(rows[:5]), "train_labels": np.concatenate(labels[:5]),
            "test_rows": rows[5], "test_labels": np.asarray(labels[5])}


def test_load_cifar10_layout_and_values(tmp_path):
    expected = _write_fake_cifar(tmp_path / data.CIFAR10_FOLDER)
    dataset = data.load_cifar10(tmp_path)
    X_train, y_train, X_test, y_test = dataset
    assert X_train.shape == (20, 32, 32, 3) and X_train.dtype == np.uint8
    assert X_test.shape == (4, 32, 32, 3)
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    # CIFAR rows hold 1024 red, then 1024 green, then 1024 blue values in row-major order.
    first = expected["train_rows"][0]
    assert X_train[0, 0, 0, 0] == first[0] and X_train[0, 0, 0, 1] == first[1024] and X_train[0, 0, 0, 2] == first[2048]
    assert X_train[0, 1, 2, 1] == first[1024 + 32 + 2]
    np.testing.assert_array_equal(y_train, expected["train_labels"])
    np.testing.assert_array_equal(y_test, expected["test_labels"])
    assert dataset.class_names == data.CIFAR10_CLASSES and dataset.name == "cifar10"
    # The folder itself is accepted as root too.
    np.testing.assert_array_equal(data.load_cifar10(tmp_path / data.CIFAR10_FOLDER).X_test, X_test)


def test_load_cifar10_missing_says_how_to_get_it(tmp_path):
    with pytest.raises(data.DatasetNotFoundError, match="course data download cifar10"):
        data.load_cifar10(tmp_path)


def test_load_cifar10_incomplete_and_damaged_batches(tmp_path):
    folder = tmp_path / data.CIFAR10_FOLDER
    _write_fake_cifar(folder)
    (folder / "data_batch_3").unlink()
    with pytest.raises(data.DatasetNotFoundError, match="data_batch_3 is missing"):
        data.load_cifar10(tmp_path)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(data.DatasetNotFoundError, match="damaged"):
        data.load_cifar10(tmp_path)


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one in-memory file and honours 'Range: bytes=N-' requests."""

    payload = b""
    ranges_seen: list = []

    def do_GET(self):  # noqa: N802 (name required by BaseHTTPRequestHandler)
        start = 0
        header = self.headers.get("Range")
        if header:
            start = int(header.split("=")[1].rstrip("-"))
            type(self).ranges_seen.append(start)
            self.send_response(206)
        else:
            self.send_response(200)
        body = self.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def cifar_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving a fake CIFAR-10 archive; yields (url, archive bytes)."""
    source = tmp_path / "source"
    _write_fake_cifar(source / data.CIFAR10_FOLDER)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(source / data.CIFAR10_FOLDER, arcname=data.CIFAR10_FOLDER)
    handler = type("Handler", (_RangeHandler,), {"payload": buffer.getvalue(), "ranges_seen": []})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/cifar.tar.gz", handler
    server.shutdown()
    server.server_close()


def test_download_verifies_unpacks_and_loads(tmp_path, cifar_server):
    url, handler = cifar_server
    md5 = hashlib.md5(handler.payload).hexdigest()
    folder = data.download_cifar10(tmp_path / "dl", url=url, md5=md5, progress=False)
    assert folder == tmp_path / "dl" / data.CIFAR10_FOLDER
    assert not (tmp_path / "dl" / data.CIFAR10_ARCHIVE).exists()
    assert data.load_cifar10(tmp_path / "dl").X_train.shape == (20, 32, 32, 3)
    # A second call finds the data and downloads nothing.
    assert data.download_cifar10(tmp_path / "dl", url="http://127.0.0.1:9/none", md5=md5) == folder


def test_download_resumes_a_partial_file(tmp_path, cifar_server):
    url, handler = cifar_server
    target = tmp_path / "dl"
    target.mkdir()
    half = len(handler.payload) // 2
    (target / (data.CIFAR10_ARCHIVE + ".part")).write_bytes(handler.payload[:half])
    data.download_cifar10(target, url=url, md5=hashlib.md5(handler.payload).hexdigest(), progress=False)
    assert handler.ranges_seen == [half]
    assert data.load_cifar10(target).X_test.shape == (4, 32, 32, 3)


def test_download_rejects_a_bad_checksum(tmp_path, cifar_server):
    url, _ = cifar_server
    with pytest.raises(data.DownloadError, match="damaged"):
        data.download_cifar10(tmp_path, url=url, md5="0" * 32, progress=False)
    assert not (tmp_path / data.CIFAR10_ARCHIVE).exists()


def test_download_offline_message(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(data.DownloadError, match="offline.*synthetic"):
        data.download_cifar10(tmp_path, url=f"http://127.0.0.1:{port}/x.tar.gz", progress=False)


def test_synthetic_cache_round_trip(tmp_path):
    first = data.load_synthetic(n_train=60, n_test=20, seed=3, cache_dir=tmp_path)
    path = data.synthetic_cache_path(60, 20, 3, tmp_path)
    assert path.exists()
    second = data.load_synthetic(n_train=60, n_test=20, seed=3, cache_dir=tmp_path)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    fresh = synthetic.generate(n_train=60, n_test=20, seed=3)
    for a, b in zip(first, fresh):
        np.testing.assert_array_equal(a, b)
    assert first.class_names == synthetic.CLASS_NAMES and first.name == "synthetic"


def test_damaged_synthetic_cache_is_regenerated(tmp_path):
    path = data.synthetic_cache_path(30, 10, 0, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="regenerating"):
        dataset = data.load_synthetic(n_train=30, n_test=10, cache_dir=tmp_path)
    assert dataset.X_train.shape == (30, 32, 32, 3)
    data.load_synthetic(n_train=30, n_test=10, cache_dir=tmp_path)  # the cache is good again: no warning


def test_load_synthetic_rejects_bad_sizes(tmp_path):
    with pytest.raises(ValueError, match="n_train must be a non-negative integer"):
        data.load_synthetic(n_train=-1, cache_dir=tmp_path)


def test_dataset_choice_by_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(data.DATASET_ENV, raising=False)
    assert data.dataset_name() == "synthetic"
    monkeypatch.setenv(data.DATASET_ENV, "CIFAR10")
    assert data.dataset_name() == "cifar10"
    assert data.class_names() == data.CIFAR10_CLASSES
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(data.DatasetNotFoundError, match=str(tmp_path)):
        data.load_dataset()
    monkeypatch.setenv(data.DATASET_ENV, "imagenet")
    with pytest.raises(ValueError, match="synthetic, cifar10"):
        data.load_dataset()


def test_data_dir_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "here"))
    assert data.default_data_dir() == tmp_path / "here"
    monkeypatch.delenv(data.DATA_DIR_ENV)
    assert data.default_data_dir().name in ("cache", "course-cv")
