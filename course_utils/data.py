"""Loading the course datasets.

Two datasets share one layout, so every notebook runs on either:

``synthetic`` (default)
    The embedded dataset: procedurally generated 32x32 RGB images of ten classes, made on this
    machine in seconds, offline, and cached (see :mod:`course_utils.synthetic`).
``cifar10``
    The real CIFAR-10 (Krizhevsky, 2009), read from its standard Python pickle batches. Fetch it
    once with ``course data download cifar10`` (needs internet, about 163 MB).

Choose with the environment variable ``COURSE_DATASET`` (``synthetic`` or ``cifar10``); the
environment variable ``COURSE_DATA_DIR`` says where data lives (default: ``datasets/cache`` in a
checkout of the course repository, else ``~/.cache/course-cv``).

Arrays as loaded: ``X_train`` (N, 32, 32, 3) uint8, ``y_train`` (N,) int64, same for the test
split. ``load_dataset()`` returns a :class:`Dataset`, which unpacks like a 4-tuple::

    X_train, y_train, X_test, y_test = load_dataset()
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from course_utils import synthetic

DATASET_ENV = "COURSE_DATASET"
DATA_DIR_ENV = "COURSE_DATA_DIR"
DATASET_NAMES = ("synthetic", "cifar10")

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not where it was looked for; the message says how to get it."""


class DownloadError(RuntimeError):
    """A download failed (offline, server error or checksum mismatch); the message says what to do."""


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays of one dataset, plus its class names.

    Unpacks like ``(X_train, y_train, X_test, y_test)``.

    Attributes:
        X_train: (N_train, 32, 32, 3) uint8 images.
        y_train: (N_train,) int64 labels in ``[0, len(class_names))``.
        X_test: (N_test, 32, 32, 3) uint8 images.
        y_test: (N_test,) int64 labels.
        class_names: one name per label.
        name: ``"synthetic"`` or ``"cifar10"``.
    """

    X_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    X_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    class_names: tuple[str, ...]
    name: str

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, train={self.X_train.shape}, test={self.X_test.shape}, "
                f"classes={len(self.class_names)})")


def default_data_dir() -> Path:
    """Return where datasets are read from and cached.

    ``COURSE_DATA_DIR`` when set; otherwise ``datasets/cache`` beside this package in a checkout
    of the course repository; otherwise ``~/.cache/course-cv``.
    """
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "datasets").is_dir():
        return checkout / "datasets" / "cache"
    return Path.home() / ".cache" / "course-cv"


def _resolve_dir(data_dir: str | os.PathLike | None) -> Path:
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


# --- CIFAR-10 -------------------------------------------------------------------------------

def _cifar_folder(root: Path) -> Path:
    """Accept either the folder holding ``cifar-10-batches-py`` or that folder itself."""
    return root if (root / "batches.meta").exists() or root.name == CIFAR10_FOLDER else root / CIFAR10_FOLDER


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.exists():
        raise DatasetNotFoundError(
            f"CIFAR-10 batch {path.name} is missing from {path.parent}. The folder is incomplete: delete it "
            f"and run `course data download cifar10`.")
    try:
        with path.open("rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        data, labels = batch[b"data"], batch[b"labels"]
    except Exception as error:
        raise DatasetNotFoundError(
            f"Could not read CIFAR-10 batch {path}: {error}. The file is damaged: delete "
            f"{path.parent} and run `course data download cifar10`.") from error
    images = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)


def load_cifar10(root: str | os.PathLike | None = None) -> Dataset:
    """Load CIFAR-10 from its Python pickle batches.

    Args:
        root: folder holding ``cifar-10-batches-py/`` (or that folder itself); default
            :func:`default_data_dir`.

    Returns:
        A :class:`Dataset`: X_train (50000, 32, 32, 3) uint8, y_train (50000,) int64,
        X_test (10000, 32, 32, 3) uint8, y_test (10000,) int64.

    Raises:
        DatasetNotFoundError: the batches are not there or cannot be read.
    """
    folder = _cifar_folder(_resolve_dir(root))
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"CIFAR-10 was not found in {folder}. Download it with `course data download cifar10` "
            f"(needs internet, about 163 MB), point {DATA_DIR_ENV} at the folder holding "
            f"{CIFAR10_FOLDER}/, or use the offline default with {DATASET_ENV}=synthetic.")
    parts = [_read_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    X_test, y_test = _read_batch(folder / "test_batch")
    X_train = np.concatenate([images for images, _ in parts])
    y_train = np.concatenate([labels for _, labels in parts])
    return Dataset(X_train, y_train, X_test, y_test, CIFAR10_CLASSES, "cifar10")


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, target: Path, progress: bool) -> None:
    """Download ``url`` to ``target``, resuming a partial file with an HTTP Range request."""
    from tqdm.auto import tqdm

    done = target.stat().st_size if target.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as error:
        if error.code == 416:  # the partial file is already complete
            return
        raise DownloadError(f"The server refused {url}: HTTP {error.code} {error.reason}. Try again later.") from error
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(
            f"Could not reach {url} ({getattr(error, 'reason', error)}). You seem to be offline: connect to "
            f"the internet and rerun, or work offline with the embedded dataset ({DATASET_ENV}=synthetic, "
            f"the default).") from error
    with response:
        resumed = done and response.status == 206
        if not resumed:
            done = 0
        length = response.headers.get("Content-Length")
        total = done + int(length) if length is not None else None
        with target.open("ab" if resumed else "wb") as out, tqdm(
                total=total, initial=done, unit="B", unit_scale=True, desc=target.name, disable=not progress) as bar:
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                bar.update(len(block))


def download_cifar10(root: str | os.PathLike | None = None, *, url: str = CIFAR10_URL,
                     md5: str | None = CIFAR10_MD5, progress: bool = True) -> Path:
    """Download and unpack CIFAR-10 into ``root`` (default :func:`default_data_dir`).

    An interrupted download resumes where it stopped; the archive is verified against its MD5
    checksum before it is unpacked. Does nothing when the batches are already there.

    Returns:
        The folder holding the batches (``root/cifar-10-batches-py``).

    Raises:
        DownloadError: offline, server error, or the checksum does not match.
    """
    root_dir = _resolve_dir(root)
    folder = root_dir / CIFAR10_FOLDER
    if (folder / "test_batch").exists():
        return folder
    root_dir.mkdir(parents=True, exist_ok=True)
    archive = root_dir / CIFAR10_ARCHIVE
    partial = archive.with_name(archive.name + ".part")
    if not archive.exists():
        _fetch(url, partial, progress)
        partial.replace(archive)
    if md5 is not None:
        actual = _md5(archive)
        if actual != md5:
            archive.unlink()
            raise DownloadError(
                f"The download of {url} is damaged (MD5 {actual}, expected {md5}); it was deleted. Run the "
                f"command again to download it afresh.")
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(root_dir, filter="data")
        else:  # Python < 3.10.12 has no extraction filters; refuse members leaving root_dir
            for member in tar.getmembers():
                if not (root_dir / member.name).resolve().is_relative_to(root_dir.resolve()):
                    raise DownloadError(f"Refusing to unpack {member.name}: it points outside {root_dir}.")
            tar.extractall(root_dir)
    archive.unlink()
    if not (folder / "test_batch").exists():
        raise DownloadError(f"The archive from {url} did not contain {CIFAR10_FOLDER}/test_batch.")
    return folder


# --- the embedded synthetic dataset ---------------------------------------------------------

def synthetic_cache_path(n_train: int = 50_000, n_test: int = 10_000, seed: int = 0,
                         cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the ``.npz`` file that caches one configuration of the synthetic dataset."""
    name = f"synthetic-v{synthetic.GENERATOR_VERSION}-seed{seed}-{n_train}-{n_test}.npz"
    return _resolve_dir(cache_dir) / name


def load_synthetic(n_train: int = 50_000, n_test: int = 10_000, seed: int = 0,
                   cache_dir: str | os.PathLike | None = None, cache: bool = True) -> Dataset:
    """Load the embedded synthetic dataset, generating and caching it on first use.

    Args:
        n_train: number of training images.
        n_test: number of test images.
        seed: the same seed gives bit-identical arrays on every machine.
        cache_dir: where the ``.npz`` cache lives; default :func:`default_data_dir`.
        cache: read and write the cache; False always regenerates.

    Returns:
        A :class:`Dataset` with X_train (n_train, 32, 32, 3) uint8, y_train (n_train,) int64,
        X_test (n_test, 32, 32, 3) uint8, y_test (n_test,) int64.
    """
    for value, name in ((n_train, "n_train"), (n_test, "n_test")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
    path = synthetic_cache_path(int(n_train), int(n_test), int(seed), cache_dir)
    if cache and path.exists():
        try:
            with np.load(path) as stored:
                arrays = [stored[key] for key in ("X_train", "y_train", "X_test", "y_test")]
            return Dataset(*arrays, synthetic.CLASS_NAMES, "synthetic")
        except Exception as error:  # a damaged cache is regenerated, not fatal
            warnings.warn(f"The dataset cache {path} could not be read ({error}); regenerating it.", stacklevel=2)
    arrays = synthetic.generate(n_train=int(n_train), n_test=int(n_test), seed=int(seed))
    if cache:
        _save_atomically(path, dict(zip(("X_train", "y_train", "X_test", "y_test"), arrays)))
    return Dataset(*arrays, synthetic.CLASS_NAMES, "synthetic")


def _save_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an ``.npz`` so that concurrent readers never see a half-written file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz.tmp", delete=False) as handle:
            np.savez(handle, **arrays)
        os.chmod(handle.name, 0o644)  # temporary files are private; a cache is for every user (and the grader)
        Path(handle.name).replace(path)
    except OSError as error:
        warnings.warn(f"Could not cache the dataset in {path.parent} ({error}); it will be regenerated next "
                      f"time. Set {DATA_DIR_ENV} to a writable folder to keep it.", stacklevel=3)


# --- choosing a dataset ---------------------------------------------------------------------

def dataset_name() -> str:
    """Return the dataset chosen by ``COURSE_DATASET`` (default ``synthetic``)."""
    name = os.environ.get(DATASET_ENV, "synthetic").strip().lower() or "synthetic"
    if name not in DATASET_NAMES:
        raise ValueError(f"{DATASET_ENV}={name!r} is not a known dataset; use one of {', '.join(DATASET_NAMES)}.")
    return name


def load_dataset(name: str | None = None, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load the course dataset: ``name`` if given, else the one ``COURSE_DATASET`` names.

    Returns:
        A :class:`Dataset` (unpacks as ``X_train, y_train, X_test, y_test``; images
        (N, 32, 32, 3) uint8, labels (N,) int64).
    """
    chosen = dataset_name() if name is None else name.strip().lower()
    if chosen == "synthetic":
        return load_synthetic(cache_dir=data_dir)
    if chosen == "cifar10":
        return load_cifar10(data_dir)
    raise ValueError(f"Unknown dataset {name!r}; use one of {', '.join(DATASET_NAMES)}.")


def class_names(name: str | None = None) -> tuple[str, ...]:
    """Return the class names of dataset ``name`` (default: the one ``COURSE_DATASET`` names)."""
    chosen = dataset_name() if name is None else name.strip().lower()
    if chosen not in DATASET_NAMES:
        raise ValueError(f"Unknown dataset {name!r}; use one of {', '.join(DATASET_NAMES)}.")
    return synthetic.CLASS_NAMES if chosen == "synthetic" else CIFAR10_CLASSES
