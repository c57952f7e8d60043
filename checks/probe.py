"""Runs INSIDE the target interpreter: report the interpreter and one framework as one JSON document.

    python probe.py info               the interpreter: version, paths, CUDA-related distributions
    python probe.py torch|tensorflow   versions, build CUDA/cuDNN, GPUs seen, and whether a real matmul
                                       and a convolution on the GPU match the CPU (kernel_ok)

Standard library plus the framework only. Each framework runs in its own process so that one that
hangs on import (the parent's timeout) or crashes cannot hide the other. Everything the framework
writes (TensorFlow is noisy) goes to stderr, which the parent keeps as `log`; stdout carries only
the JSON.
A framework that is not installed is null; an exception becomes `error`, verbatim.
"""

from __future__ import annotations

import faulthandler
import functools
import json
import os
import re
import sys

SCHEMA = "nktenv.probe/1"
RELATED = re.compile(r"^(nvidia-.*|torch|torchvision|torchaudio|tensorflow.*|tf-nightly.*|tensorrt.*|jax.*|keras|"
                     r"tf-keras|intel-tensorflow)$")


# Every RELATED name starts with one of these; a *.dist-info / *.egg-info folder whose name does not
# cannot hold a related distribution, so its metadata is never parsed (that parse is most of the time).
_PREFIXES = ("nvidia", "torch", "tensor", "tf", "jax", "keras", "intel")


def _maybe_related(dist) -> bool:
    try:
        folder = dist._path.name.lower()  # PathDistribution: the .dist-info / .egg-info folder
    except Exception:  # noqa: BLE001 - another kind of distribution: read its metadata
        return True
    if not folder.endswith((".dist-info", ".egg-info")):
        return True
    return folder.startswith(_PREFIXES)


def _dists() -> dict:
    return dict(_related_dists())


@functools.lru_cache(maxsize=1)
def _related_dists() -> dict:
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python < 3.8
        return {}
    out = {}
    for dist in metadata.distributions():
        if not _maybe_related(dist):
            continue
        try:
            name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        except Exception:  # noqa: BLE001 - a broken dist-info must not stop the probe
            continue
        if name and RELATED.match(name):
            out[name] = dist.version
    return dict(sorted(out.items()))


def info() -> dict:
    import platform  # here, not at the top: the framework children do not need it

    prefix = sys.prefix
    return {
        "version": platform.python_version(),
        "executable": sys.executable,
        "implementation": platform.python_implementation(),
        "prefix": prefix,
        "base_prefix": getattr(sys, "base_prefix", prefix),
        "conda": os.path.isdir(os.path.join(prefix, "conda-meta")),
        "packages": _dists(),
    }


def _cudnn_str(value):
    if value is None:
        return None
    try:
        v = int(value)
    except (TypeError, ValueError):
        return str(value)
    if v >= 10000:
        return "%d.%d.%d" % (v // 10000, (v % 10000) // 100, v % 100)
    if v >= 1000:
        return "%d.%d.%d" % (v // 1000, (v % 1000) // 100, v % 100)
    return str(v)


def _framework_packages(prefixes) -> dict:
    return {k: v for k, v in _dists().items() if k.startswith(prefixes)}


def probe_torch() -> dict:
    res = {"package": "torch", "arch_list": [], "devices": [], "kernel_ok": None, "kernel_error": None}
    import torch

    res["version"] = torch.__version__
    res["cuda"] = getattr(torch.version, "cuda", None)
    res["is_cuda_build"] = res["cuda"] is not None
    try:
        res["cudnn"] = _cudnn_str(torch.backends.cudnn.version()) if res["is_cuda_build"] else None
    except Exception as exc:  # noqa: BLE001 - cuDNN that fails to load is evidence
        res["cudnn"] = None
        res["error"] = "cudnn: %s: %s" % (type(exc).__name__, exc)
    res["packages"] = _framework_packages(("torch", "nvidia-"))
    res["cuda_available"] = bool(torch.cuda.is_available())
    res["device_count"] = int(torch.cuda.device_count()) if res["cuda_available"] else 0
    try:
        res["arch_list"] = list(torch.cuda.get_arch_list())
    except Exception:  # noqa: BLE001
        res["arch_list"] = []
    if not res["cuda_available"]:
        return res
    res["devices"] = [torch.cuda.get_device_name(i) for i in range(res["device_count"])]
    try:
        import torch.nn.functional as F

        # Full precision on both sides: TF32 would make an honest GPU look wrong.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(64, 64, generator=gen)
        b = torch.randn(64, 64, generator=gen)
        x = torch.randn(2, 3, 16, 16, generator=gen)
        w = torch.randn(4, 3, 3, 3, generator=gen)
        dev = torch.device("cuda:0")
        mm = (a.to(dev) @ b.to(dev)).cpu()
        conv = F.conv2d(x.to(dev), w.to(dev), padding=1).cpu()
        torch.cuda.synchronize()
        ok_mm = torch.allclose(mm, a @ b, rtol=1e-3, atol=1e-3)
        ok_conv = torch.allclose(conv, F.conv2d(x, w, padding=1), rtol=1e-3, atol=1e-3)
        res["kernel_ok"] = bool(ok_mm and ok_conv)
        if not res["kernel_ok"]:
            res["kernel_error"] = "GPU result differs from CPU (matmul ok: %s, conv ok: %s)" % (ok_mm, ok_conv)
    except Exception as exc:  # noqa: BLE001 - e.g. "no kernel image is available for execution on the device"
        res["kernel_ok"] = False
        res["kernel_error"] = "%s: %s" % (type(exc).__name__, exc)
    return res


def probe_tensorflow() -> dict:
    res = {"arch_list": [], "devices": [], "kernel_ok": None, "kernel_error": None}
    dists = _dists()
    for name in ("tensorflow", "tensorflow-gpu", "tensorflow-cpu", "tensorflow-intel", "tf-nightly"):
        if name in dists:
            res["package"] = name
            break
    import tensorflow as tf

    res["version"] = tf.__version__
    try:
        build = dict(tf.sysconfig.get_build_info())
    except Exception:  # noqa: BLE001 - old TF has no build info
        build = {}
    res["is_cuda_build"] = bool(build.get("is_cuda_build", tf.test.is_built_with_cuda()))
    res["cuda"] = build.get("cuda_version") if res["is_cuda_build"] else None
    res["cudnn"] = build.get("cudnn_version") if res["is_cuda_build"] else None
    res["arch_list"] = [str(a) for a in build.get("cuda_compute_capabilities", []) or []]
    res["packages"] = _framework_packages(("tensorflow", "tf-", "nvidia-", "tensorrt", "keras"))
    gpus = tf.config.list_physical_devices("GPU")
    res["devices"] = [g.name for g in gpus]
    res["device_count"] = len(gpus)
    res["cuda_available"] = bool(gpus)
    if not gpus:
        return res
    try:
        import numpy as np

        tf.config.experimental.enable_tensor_float_32_execution(False)
        rng = np.random.default_rng(0)
        a = rng.standard_normal((64, 64), dtype=np.float32)
        b = rng.standard_normal((64, 64), dtype=np.float32)
        x = rng.standard_normal((2, 16, 16, 3), dtype=np.float32)
        w = rng.standard_normal((3, 3, 3, 4), dtype=np.float32)
        with tf.device("/GPU:0"):
            mm = tf.matmul(a, b).numpy()
            conv = tf.nn.conv2d(x, w, strides=1, padding="SAME").numpy()
        with tf.device("/CPU:0"):
            ref_conv = tf.nn.conv2d(x, w, strides=1, padding="SAME").numpy()
        ok_mm = bool(np.allclose(mm, a @ b, rtol=1e-3, atol=1e-3))
        ok_conv = bool(np.allclose(conv, ref_conv, rtol=1e-3, atol=1e-3))
        res["kernel_ok"] = ok_mm and ok_conv
        if not res["kernel_ok"]:
            res["kernel_error"] = "GPU result differs from CPU (matmul ok: %s, conv ok: %s)" % (ok_mm, ok_conv)
    except Exception as exc:  # noqa: BLE001
        res["kernel_ok"] = False
        res["kernel_error"] = "%s: %s" % (type(exc).__name__, exc)
    return res


PROBES = {"torch": (probe_torch, "torch"), "tensorflow": (probe_tensorflow, "tensorflow")}


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def run_framework(name: str) -> dict:
    fn, module = PROBES[name]
    if not _installed(module):
        return {"schema": SCHEMA, "framework": name, "result": None}
    try:
        result = fn()
    except BaseException as exc:  # noqa: BLE001 - SystemExit from a broken import is evidence too
        import traceback

        result = {"error": "".join(traceback.format_exception_only(type(exc), exc)).strip(),
                  "traceback": traceback.format_exc(limit=8)}
        if "package" not in result:
            result["package"] = "torch" if name == "torch" else None
    return {"schema": SCHEMA, "framework": name, "result": result}


def main(argv) -> int:
    what = argv[1] if len(argv) > 1 else "info"
    if what not in PROBES and what != "info":
        sys.stderr.write("usage: probe.py info|torch|tensorflow\n")
        return 2
    # Whatever the framework prints (C++ logs write straight to fd 1) goes to stderr, which the
    # parent keeps as `log` even if this process dies; stdout carries only the JSON document.
    sys.stdout.flush()
    json_fd = os.dup(1)
    os.dup2(2, 1)
    faulthandler.enable()  # a segfault leaves its Python traceback on stderr
    doc = {"schema": SCHEMA, "info": info()} if what == "info" else run_framework(what)
    sys.stdout.flush()
    out = json.dumps(doc, ensure_ascii=True, default=str)
    os.write(json_fd, (out + "\n").encode("ascii"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
