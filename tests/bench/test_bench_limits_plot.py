from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from nktenv.bench.limits import COSTS, epoch_seconds, fraction_of_limit, limit_samples_per_s, step_floor_s
from nktenv.bench.plot import render_sweeps, write_sweep_png

# Roughly an H100 SXM: FP32 67 TFLOP/s, TF32 495, 3.35 TB/s, 0.6 ms eager MLP step.
H100 = {"matmul_flops": 6.7e13, "matmul_flops_tf32": 4.95e14, "d2d_bytes_per_s": 3.35e12,
        "h2d_bytes_per_s": 2.5e10, "step_overhead_s": 6.0e-4}


def test_model_arithmetic_matches_the_hand_count() -> None:
    assert COSTS["cnn"].flop_per_sample * 100 == pytest.approx(2.16e9, rel=0.01)
    assert COSTS["mlp"].flop_per_sample * 100 == pytest.approx(6.38e6, rel=0.01)


def test_cnn_compiled_is_memory_bound_on_an_h100() -> None:
    floor = step_floor_s("cnn", "compiled", "gpu", 100, H100)
    assert floor == pytest.approx(155e6 / 3.35e12, rel=0.01)  # 46 us: the CNN is memory-bound on an H100
    assert limit_samples_per_s("cnn", "compiled", "gpu", 100, H100) == pytest.approx(2.16e6, rel=0.02)


def test_eager_rows_are_bounded_by_the_host() -> None:
    floor = step_floor_s("cnn", "resident", "gpu", 100, H100)
    assert floor == pytest.approx(6.0e-4 * 116 / 66)
    manual = step_floor_s("cnn", "manual", "gpu", 100, H100)
    assert manual == pytest.approx(floor + 100 * (3072 * 4 + 8) / 2.5e10)
    assert fraction_of_limit(100 / floor / 2, "cnn", "resident", "gpu", 100, H100) == pytest.approx(0.5)


def test_missing_ceilings_give_no_limit() -> None:
    assert step_floor_s("cnn", "resident", "gpu", 100, {"matmul_flops": None}) is None
    assert fraction_of_limit(1000.0, "cnn", "resident", "gpu", 100, None) is None
    assert epoch_seconds("cnn", 1000.0) == 50.0
    assert epoch_seconds("mlp", None) is None


def _decode_png(data: bytes) -> tuple[int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_sweep_png_is_a_valid_image_with_the_lines_drawn(tmp_path: Path) -> None:
    sweeps = [
        {"framework": "torch", "model": "cnn", "device": "cpu",
         "points": [{"batch_size": b, "samples_per_s": 1000.0 + b} for b in (32, 64, 128, 256, 512, 1024)]},
        {"framework": "torch", "model": "cnn", "device": "cuda:0",
         "points": [{"batch_size": b, "samples_per_s": 300.0 * b} for b in (32, 64, 128, 256, 512, 1024)]
         + [{"batch_size": 2048, "samples_per_s": None, "error": "OOM"}]},
    ]
    path = write_sweep_png(sweeps, tmp_path / "plots" / "sweep.png")
    width, height, raw = _decode_png(path.read_bytes())
    assert (width, height) == (720, 440)
    assert len(raw) == height * (1 + width * 3)
    pixels = {raw[i : i + 3] for row in range(height) for i in range(row * (1 + width * 3) + 1, (row + 1) * (1 + width * 3), 3)}
    assert bytes((31, 119, 180)) in pixels and bytes((214, 39, 40)) in pixels  # both series drawn
    assert not list(tmp_path.glob("plots/*.tmp"))


def test_empty_sweeps_still_render() -> None:
    width, height, _ = _decode_png(render_sweeps([]))
    assert width > 0 and height > 0
