"""The real-data loaders on small files written in the real on-disk formats."""

from __future__ import annotations

import csv
import io
import pickle
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

CHECKS = Path(__file__).resolve().parents[2] / "checks"
sys.path.insert(0, str(CHECKS))

import data_real  # noqa: E402

RAW_HEADER = ["longitude", "latitude", "housingMedianAge", "totalRooms", "totalBedrooms", "population", "households",
              "medianIncome", "medianHouseValue"]


def _write_cifar(root: Path, per_batch: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Pickled dicts with bytes keys, `data` N x 3072 uint8 channel-major, `labels` a list: the python version."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    all_rows, all_labels = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rows = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [int(x) for x in rng.integers(0, 10, size=per_batch)]
        with open(folder / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": labels, b"data": rows,
                         b"filenames": [b"x.png"] * per_batch}, f, protocol=2)
        if name != "test_batch":
            all_rows.append(rows)
            all_labels += labels
    return np.concatenate(all_rows), np.array(all_labels)


def test_cifar_python_batches_load_as_nhwc(tmp_path: Path) -> None:
    rows, labels = _write_cifar(tmp_path)
    data = data_real.load_cifar10(str(tmp_path))
    x, y = data["train"]
    assert x.shape == (35, 32, 32, 3) and x.dtype == np.uint8
    assert y.tolist() == labels.tolist()
    # Row layout is 1024 red, 1024 green, 1024 blue values, each row-major 32x32.
    assert x[3, 0, 1, 0] == rows[3, 1]
    assert x[3, 2, 5, 1] == rows[3, 1024 + 2 * 32 + 5]
    assert x[3, 31, 31, 2] == rows[3, 3071]
    tx, ty = data["test"]
    assert tx.shape == (7, 32, 32, 3) and ty.shape == (7,)


def test_cifar_from_the_keras_cache_and_from_the_tarball(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keras_home = tmp_path / "keras"
    _write_cifar(keras_home / "datasets")
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    assert data_real.load_cifar10(None)["train"][0].shape[0] == 35
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "nowhere"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    src = tmp_path / "src"
    _write_cifar(src)
    data_dir = tmp_path / "data 藤澤"
    data_dir.mkdir()
    with tarfile.open(data_dir / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    assert data_real.load_cifar10(str(data_dir))["test"][0].shape == (7, 32, 32, 3)


def test_cifar_missing_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    with pytest.raises(data_real.DataNotFound, match="CIFAR-10 python batches not found"):
        data_real.load_cifar10(str(tmp_path))


def _raw_table() -> np.ndarray:
    # Two districts in the original column order of cal_housing.data.
    return np.array([
        [-122.23, 37.88, 41.0, 880.0, 129.0, 322.0, 126.0, 8.3252, 452600.0],
        [-122.22, 37.86, 21.0, 7099.0, 1106.0, 2401.0, 1138.0, 8.3014, 358500.0],
    ])


def _check_housing(data: dict) -> None:
    x, y = data["x"], data["y"]
    assert x.shape == (2, 8) and x.dtype == np.float32 and y.shape == (2, 1)
    # scikit-learn's features: MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude.
    np.testing.assert_allclose(x[0], [8.3252, 41.0, 880 / 126, 129 / 126, 322.0, 322 / 126, 37.88, -122.23], rtol=1e-5)
    np.testing.assert_allclose(y[:, 0], [4.526, 3.585], rtol=1e-5)


def test_housing_from_the_original_archive_and_data_file(tmp_path: Path) -> None:
    text = "\n".join(",".join(f"{v:.6f}" for v in r) for r in _raw_table()) + "\n"
    archive_dir = tmp_path / "a"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / "cal_housing.tgz", "w:gz") as tar:
        blob = text.encode()
        info = tarfile.TarInfo("CaliforniaHousing/cal_housing.data")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    _check_housing(data_real.load_california_housing(str(archive_dir)))
    plain = tmp_path / "b" / "CaliforniaHousing"
    plain.mkdir(parents=True)
    (plain / "cal_housing.data").write_text(text)
    _check_housing(data_real.load_california_housing(str(tmp_path / "b")))


def test_housing_from_a_scikit_learn_frame_csv(tmp_path: Path) -> None:
    raw = _raw_table()
    with open(tmp_path / "california_housing.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(data_real.HOUSING_FEATURES + ["MedHouseVal"])
        for r in raw:
            w.writerow([r[7], r[2], r[3] / r[6], r[4] / r[6], r[5], r[5] / r[6], r[1], r[0], r[8] / 1e5])
    _check_housing(data_real.load_california_housing(str(tmp_path)))


def test_housing_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "none"))
    with pytest.raises(data_real.DataNotFound):
        data_real.load_california_housing(str(tmp_path))


def test_split_is_a_seeded_partition() -> None:
    parts = data_real.split_indices(100, (0.8, 0.1, 0.1), seed=0)
    assert [len(p) for p in parts] == [80, 10, 10]
    assert sorted(np.concatenate(parts).tolist()) == list(range(100))
    again = data_real.split_indices(100, (0.8, 0.1, 0.1), seed=0)
    assert all((a == b).all() for a, b in zip(parts, again))


def test_synthetic_data_has_real_shapes_and_a_learnable_teacher() -> None:
    import bench_common as bc

    x, y = bc.synthetic_cifar(2000, seed=1)
    assert x.shape == (2000, 32, 32, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    # The label is a function of the coarse pattern: a linear probe on 8x8 block means beats chance by far.
    feats = x.reshape(2000, 4, 8, 4, 8, 3).mean(axis=(2, 4)).reshape(2000, 48)
    feats = np.c_[feats - feats.mean(0), np.ones(2000)]
    w, *_ = np.linalg.lstsq(feats[:1500], np.eye(10)[y[:1500]], rcond=None)
    accuracy = (np.argmax(feats[1500:] @ w, axis=1) == y[1500:]).mean()
    assert accuracy > 0.5
    hx, hy = bc.synthetic_housing(1000, seed=1)
    assert hx.shape == (1000, 8) and hy.shape == (1000, 1) and hx.dtype == np.float32
    assert float(np.var(hy)) > 10 * 0.05**2  # the teacher's signal dwarfs its noise


def test_download_from_a_local_server_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    src = tmp_path / "src"
    _write_cifar(src)
    served.mkdir()
    with tarfile.open(served / "cifar.tgz", "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(data_real, "CIFAR_URL", f"http://127.0.0.1:{server.server_port}/cifar.tgz")
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
        monkeypatch.setenv("HOME", str(tmp_path / "h"))
        target = tmp_path / "data"
        data = data_real.load_cifar10(str(target), download=True, timeout=30)
        assert data["train"][0].shape == (35, 32, 32, 3)
        assert not list(target.glob("*.part"))
        monkeypatch.setattr(data_real, "HOUSING_URL", f"http://127.0.0.1:{server.server_port}/missing.tgz")
        with pytest.raises(OSError):  # HTTP 404 is an URLError/HTTPError, both OSError
            data_real.load_california_housing(str(tmp_path / "h2"), download=True, timeout=30)
        assert not list((tmp_path / "h2").glob("*"))  # nothing half-written left behind
    finally:
        server.shutdown()


def test_step_floor_is_the_fastest_block_not_the_mean(monkeypatch) -> None:
    import bench_common as bc

    # each block of 10 steps takes this long on a fake clock: one quiet block among busy ones
    block_s = iter([0.30, 0.05, 0.40, 0.31, 0.29])
    now = [0.0]

    def step() -> None:
        now[0] += next_block[0] / 10

    next_block = [0.0]

    def sync() -> None:
        pass

    arm = bc.Arm({"model": "mlp"}, step, sync, 1, float)
    original = arm.run_steps

    def run_steps(n: int) -> float:
        next_block[0] = next(block_s)
        return original(n)

    monkeypatch.setattr(bc.time, "perf_counter", lambda: now[0])
    arm.run_steps = run_steps  # type: ignore[method-assign]
    assert abs(arm.fastest_step_s(5, 10) - 0.005) < 1e-12
