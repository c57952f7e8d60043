"""Loaders for the real data sets, in their published on-disk formats (stdlib + numpy only).

CIFAR-10: the "python version" (pickled `data_batch_1..5` and `test_batch`, each a dict with `data`
10000x3072 uint8 channel-major rows and `labels`), found in --data-dir, the torchvision layout
(`<root>/cifar-10-batches-py`) or the Keras cache (`~/.keras/datasets/cifar-10-batches-py`).
California Housing: `california_housing.csv` (scikit-learn's frame columns), the original
`cal_housing.tgz` / `CaliforniaHousing/cal_housing.data`, or scikit-learn's cache `cal_housing_py3.pkz`.
Download happens only when asked, with a timeout.
"""

from __future__ import annotations

import csv
import io
import os
import pickle
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
HOUSING_URL = "https://ndownloader.figshare.com/files/5976036"
CIFAR_DIR = "cifar-10-batches-py"
HOUSING_FEATURES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"]


class DataNotFound(Exception):
    pass


def _cifar_candidates(data_dir: str | None) -> list[Path]:
    roots: list[Path] = []
    if data_dir:
        roots += [Path(data_dir), Path(data_dir) / CIFAR_DIR]
    keras_home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    roots.append(Path(keras_home) / "datasets" / CIFAR_DIR)
    roots.append(Path.home() / ".cache" / "torchvision" / CIFAR_DIR)
    return roots


def _safe_extract(archive: Path, dest: Path) -> None:
    with tarfile.open(archive, "r:*") as tar:
        for member in tar.getmembers():
            target = (dest / member.name).resolve()
            if not str(target).startswith(str(dest.resolve())) or member.issym() or member.islnk():
                raise ValueError(f"unsafe path in archive: {member.name}")
        tar.extractall(dest)


def _download(url: str, dest: Path, timeout: float) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            while True:
                chunk = response.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
        os.replace(partial, dest)  # nothing half-written is left under the final name
    finally:
        if partial.exists():
            partial.unlink()


def _load_batch(path: Path) -> tuple[Any, Any]:
    import numpy as np

    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    images = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)


def find_cifar(data_dir: str | None) -> Path | None:
    for root in _cifar_candidates(data_dir):
        if (root / "data_batch_1").is_file() and (root / "test_batch").is_file():
            return root
    if data_dir and (Path(data_dir) / "cifar-10-python.tar.gz").is_file():
        _safe_extract(Path(data_dir) / "cifar-10-python.tar.gz", Path(data_dir))
        return find_cifar(data_dir)
    return None


def load_cifar10(data_dir: str | None, *, download: bool = False, timeout: float = 600.0) -> dict[str, Any]:
    """{"train": (images uint8 NHWC, labels int64), "test": (...), "source": path}."""
    import numpy as np

    root = find_cifar(data_dir)
    if root is None and download and data_dir:
        _download(CIFAR_URL, Path(data_dir) / "cifar-10-python.tar.gz", timeout)
        root = find_cifar(data_dir)
    if root is None:
        raise DataNotFound(
            f"CIFAR-10 python batches not found in {data_dir or '(no --data-dir)'}, the torchvision or Keras caches"
        )
    parts = [_load_batch(root / f"data_batch_{i}") for i in range(1, 6) if (root / f"data_batch_{i}").is_file()]
    train_x = np.concatenate([p[0] for p in parts])
    train_y = np.concatenate([p[1] for p in parts])
    return {"train": (train_x, train_y), "test": _load_batch(root / "test_batch"), "source": str(root)}


def _housing_from_raw(raw: Any) -> tuple[Any, Any]:
    """scikit-learn's transformation of the reordered raw table into the 8 features and the target."""
    import numpy as np

    raw = np.asarray(raw, dtype=np.float64).copy()
    target, data = raw[:, 0], raw[:, 1:]
    data[:, 2] /= data[:, 5]
    data[:, 3] /= data[:, 5]
    data[:, 5] = data[:, 4] / data[:, 5]
    return data.astype(np.float32), (target / 100000.0).astype(np.float32).reshape(-1, 1)


def _parse_cal_housing_data(text: str) -> tuple[Any, Any]:
    import numpy as np

    table = np.loadtxt(io.StringIO(text), delimiter=",")
    return _housing_from_raw(table[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]])


def load_california_housing(data_dir: str | None, *, download: bool = False, timeout: float = 120.0) -> dict[str, Any]:
    """{"x": float32 (N, 8), "y": float32 (N, 1), "source": path}."""
    import numpy as np

    roots = [Path(data_dir)] if data_dir else []
    roots.append(Path(os.environ.get("SCIKIT_LEARN_DATA") or Path.home() / "scikit_learn_data"))
    for root in roots:
        csv_path = root / "california_housing.csv"
        if csv_path.is_file():
            with open(csv_path, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            x = np.array([[float(r[k]) for k in HOUSING_FEATURES] for r in rows], dtype=np.float32)
            y = np.array([[float(r["MedHouseVal"])] for r in rows], dtype=np.float32)
            return {"x": x, "y": y, "source": str(csv_path)}
        plain = root / "CaliforniaHousing" / "cal_housing.data"
        if plain.is_file():
            x, y = _parse_cal_housing_data(plain.read_text(encoding="utf-8"))
            return {"x": x, "y": y, "source": str(plain)}
        tgz = root / "cal_housing.tgz"
        if tgz.is_file():
            with tarfile.open(tgz, "r:gz") as tar:
                member = tar.extractfile("CaliforniaHousing/cal_housing.data")
                if member is not None:
                    x, y = _parse_cal_housing_data(member.read().decode("utf-8"))
                    return {"x": x, "y": y, "source": str(tgz)}
        pkz = root / "cal_housing_py3.pkz"
        if pkz.is_file():
            try:
                import joblib  # scikit-learn's cache format; present wherever scikit-learn is
            except ImportError:
                continue
            x, y = _housing_from_raw(joblib.load(pkz))
            return {"x": x, "y": y, "source": str(pkz)}
    if download and data_dir:
        _download(HOUSING_URL, Path(data_dir) / "cal_housing.tgz", timeout)
        return load_california_housing(data_dir, download=False)
    raise DataNotFound(f"California Housing not found in {data_dir or '(no --data-dir)'} or the scikit-learn cache")


def split_indices(n: int, fractions: tuple[float, ...], seed: int) -> list[Any]:
    """Random split of range(n) into parts of the given fractions (the last takes the rest)."""
    import numpy as np

    perm = np.random.default_rng(seed).permutation(n)
    parts, start = [], 0
    for frac in fractions[:-1]:
        size = int(round(n * frac))
        parts.append(perm[start : start + size])
        start += size
    parts.append(perm[start:])
    return parts
