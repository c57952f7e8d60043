"""Benchmark the lab's reference MLP and CNN in TensorFlow/Keras, inside the target interpreter.

Same protocol and interface as bench_torch.py. Pipelines: `manual` (tf.data with a per-image
normalise map, batch 100, shuffled, fed from the host), `resident` (data on the device, batches by
index, tf.function step) and `compiled` (the same step under XLA, `jit_compile=True`).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import bench_common as bc  # noqa: E402

FRAMEWORK = "tensorflow"


def _tf_device(device: str) -> str:
    return "/CPU:0" if device == "cpu" else "/GPU:" + device.split(":", 1)[1]


class TF:
    def __init__(self, config: dict[str, Any]) -> None:
        import tensorflow as tf

        import models_tf

        self.tf = tf
        self.models = models_tf
        self.config = config
        if config.get("threads"):
            tf.config.threading.set_intra_op_parallelism_threads(int(config["threads"]))
        # TensorFlow's default (0) uses every core; never pin it to 1 as the manual's seed helper does.
        self.threads = int(config.get("threads") or bc.usable_cpus())
        self.gpus = tf.config.list_physical_devices("GPU")
        for gpu in self.gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except Exception:
                pass

    def devices(self) -> list[str]:
        wanted = self.config["devices"]
        if wanted == "all" or wanted == ["all"]:
            return ["cpu"] + [f"cuda:{i}" for i in range(len(self.gpus))]
        return list(wanted)

    def gpu_count(self) -> int:
        return len(self.gpus)

    def device_name(self, device: str) -> str | None:
        if device == "cpu":
            return bc.cpu_name()
        try:
            index = int(device.split(":", 1)[1])
            details = self.tf.config.experimental.get_device_details(self.gpus[index])
            return details.get("device_name")
        except Exception:
            return None

    def versions(self) -> dict[str, Any]:
        tf = self.tf
        build = {}
        try:
            build = dict(tf.sysconfig.get_build_info())
        except Exception:
            pass
        keras_version = getattr(tf.keras, "__version__", None)
        try:
            import keras

            keras_version = keras.__version__
        except Exception:
            pass
        import platform

        return {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras_version,
            "cuda": build.get("cuda_version"),
            "cudnn": build.get("cudnn_version"),
            "numpy": bc.dist_version("numpy"),  # None: not installed (torch does not bring it)
        }

    # ------------------------------------------------------------------ data and steps

    def tensors(self, model: str, x: Any, y: Any, device: str) -> tuple[Any, Any]:
        tf = self.tf
        with tf.device(_tf_device(device)):
            if model == "cnn":
                return tf.constant(bc.normalize_images(x)), tf.constant(y)
            return tf.constant(x), tf.constant(y)

    def _model(self, model: str, seed: int) -> tuple[Any, Any, Any]:
        tf = self.tf
        tf.keras.utils.set_random_seed(seed)
        net, loss_fn = self.models.build(model)
        opt = self.models.optimizer()
        try:
            opt.build(net.trainable_variables)  # create Adam's slots outside tf.function / XLA
        except Exception:
            pass
        return net, loss_fn, opt

    def _train_fn(self, net: Any, loss_fn: Any, opt: Any, jit: bool) -> Any:
        tf = self.tf

        def train_step(x: Any, y: Any) -> Any:
            with tf.GradientTape() as tape:
                loss = loss_fn(y, net(x, training=True))
            grads = tape.gradient(loss, net.trainable_variables)
            opt.apply_gradients(zip(grads, net.trainable_variables))
            return loss

        return tf.function(train_step, jit_compile=True) if jit else tf.function(train_step)

    def _sync(self, device: str, holder: dict[str, Any]):
        tf = self.tf
        sync_devices = getattr(getattr(tf.test, "experimental", None), "sync_devices", None)

        def sync() -> None:
            if holder.get("last") is not None:
                holder["last"].numpy()  # waits for the step that produced it
            if device != "cpu" and sync_devices is not None:
                sync_devices()

        return sync

    def _probe(self, net: Any, loss_fn: Any, px: Any, py: Any):
        def probe() -> float:
            return float(loss_fn(py, net(px, training=False)).numpy())

        return probe

    def make_arm(self, model: str, pipeline: str, device: str, data: dict[str, Any], batch_size: int) -> bc.Arm:
        tf = self.tf
        seed = self.config["seed"]
        key = {"model": model, "pipeline": pipeline, "device": device}
        dev = _tf_device(device)
        if device != "cpu" and int(device.split(":", 1)[1]) >= len(self.gpus):
            raise RuntimeError(f"no such GPU: {device} (TensorFlow sees {len(self.gpus)})")
        holder: dict[str, Any] = {}
        n_probe = 500 if model == "cnn" else 1000
        px, py = self.tensors(model, data["x"][:n_probe], data["y"][:n_probe], device)
        with tf.device(dev):
            net, loss_fn, opt = self._model(model, seed)
        train = self._train_fn(net, loss_fn, opt, jit=(pipeline == "compiled"))

        if pipeline == "manual":
            x_np, y_np = data["x"], data["y"]
            ds = tf.data.Dataset.from_tensor_slices((x_np, y_np)).shuffle(len(x_np), seed=seed, reshuffle_each_iteration=True)
            if model == "cnn":
                ds = ds.map(lambda img, label: ((tf.cast(img, tf.float32) / 255.0 - 0.5) / 0.5, label))
            it = iter(ds.batch(batch_size).repeat())

            def step() -> Any:
                t0 = time.perf_counter()
                xb, yb = next(it)
                arm.loader_s += time.perf_counter() - t0
                with tf.device(dev):
                    holder["last"] = train(xb, yb)
                return holder["last"]

        elif pipeline in ("resident", "compiled"):
            xs, ys = self.tensors(model, data["x"], data["y"], device)
            n = int(xs.shape[0])
            with tf.device(dev):
                gen = tf.random.Generator.from_seed(seed)

            def step() -> Any:
                with tf.device(dev):
                    idx = gen.uniform((batch_size,), 0, n, dtype=tf.int64)
                    holder["last"] = train(tf.gather(xs, idx), tf.gather(ys, idx))
                return holder["last"]

        else:
            raise ValueError(f"unknown pipeline {pipeline!r}")

        arm = bc.Arm(key, step, self._sync(device, holder), batch_size, lambda t: float(t.numpy()))
        arm.probe = self._probe(net, loss_fn, px, py)
        return arm

    # ------------------------------------------------------------------ ceilings

    def limits(self, device: str, data: dict[str, Any]) -> dict[str, Any]:
        tf = self.tf
        import numpy as np

        quick = self.config["quick"]
        gpu = device != "cpu"
        dev = _tf_device(device)
        min_s = 0.15 if quick else 0.4
        out: dict[str, Any] = {"framework": FRAMEWORK, "device": device, "device_name": self.device_name(device),
                               "matmul_flops_tf32": None, "h2d_bytes_per_s": None, "h2d_pageable_bytes_per_s": None}

        def rate(fn) -> tuple[int, float]:
            fn().numpy()
            reps, t0 = 0, time.perf_counter()
            while True:
                last = fn()
                reps += 1
                if reps < 4 or reps % 4 == 0:
                    last.numpy()
                    dt = time.perf_counter() - t0
                    if dt >= min_s:
                        return reps, dt

        with tf.device(dev):
            n = 4096 if gpu else (768 if quick else 1536)
            a = tf.random.normal((n, n))
            b = tf.random.normal((n, n))
            reps, dt = rate(lambda: tf.reduce_sum(tf.matmul(a, b)[:1, :1]))
            out["matmul_flops"] = 2.0 * n**3 * reps / dt
            size = (256 if gpu else 64) * 2**20
            src = tf.zeros((size // 4,))
            reps, dt = rate(lambda: tf.reduce_sum((src * 1.0)[:1]))
            out["d2d_bytes_per_s"] = 2.0 * size * reps / dt
            x = tf.zeros((1,))

            def thousand() -> Any:
                y = x
                for _ in range(1000):
                    y = y + 1.0
                return y

            reps, dt = rate(thousand)
            out["launch_overhead_s"] = dt / (reps * 1000)
        if gpu:
            host = np.zeros(8 * 2**20, dtype=np.float32)

            def h2d() -> Any:
                with tf.device(dev):
                    return tf.reduce_sum(tf.identity(tf.constant(host))[:1])

            reps, dt = rate(h2d)
            out["h2d_pageable_bytes_per_s"] = host.nbytes * reps / dt
        out["step_overhead_s"] = bc.step_overhead(self, device, data)
        return out

    # ------------------------------------------------------------------ correctness and training

    def correctness(self, model: str, devices: list[str], data: dict[str, Any], steps: int = 5) -> dict[str, Any]:
        tf = self.tf
        seed = self.config["seed"]
        base, _, _ = self._model(model, seed)
        weights = base.get_weights()
        bs = 100
        results = []
        for device in devices:
            xs, ys = self.tensors(model, data["x"][: bs * steps], data["y"][: bs * steps], device)
            with tf.device(_tf_device(device)):
                net, loss_fn, opt = self._model(model, seed)
                net.set_weights(weights)
                train = self._train_fn(net, loss_fn, opt, jit=False)
                losses = [float(train(xs[i * bs : (i + 1) * bs], ys[i * bs : (i + 1) * bs]).numpy()) for i in range(steps)]
            results.append({"device": device, "losses": losses})
        return bc.compare_losses(FRAMEWORK, model, results, steps)

    def train(self, model: str, device: str, data: dict[str, Any], epochs: int) -> dict[str, Any]:
        tf = self.tf
        seed = self.config["seed"]
        dev = _tf_device(device)
        with tf.device(dev):
            net, loss_fn, opt = self._model(model, seed)
        train = self._train_fn(net, loss_fn, opt, jit=False)
        x_np, y_np = data["x"], data["y"]
        ds = tf.data.Dataset.from_tensor_slices((x_np, y_np)).shuffle(len(x_np), seed=seed, reshuffle_each_iteration=True)
        if model == "cnn":
            ds = ds.map(lambda img, label: ((tf.cast(img, tf.float32) / 255.0 - 0.5) / 0.5, label))
        ds = ds.batch(100)
        vx, vy = self.tensors(model, *data["val"], device)
        tx, ty = self.tensors(model, *data["test"], device)

        def evaluate(x: Any, y: Any) -> dict[str, float]:
            with tf.device(dev):
                out = net.predict(x, batch_size=1000, verbose=0)
            result = {"loss": float(loss_fn(y, out).numpy())}
            if model == "cnn":
                result["accuracy"] = float((out.argmax(1) == y.numpy()).mean())
            return result

        epoch_s, history = [], []
        for _ in range(epochs):
            t0 = time.perf_counter()
            last = None
            for xb, yb in ds:
                with tf.device(dev):
                    last = train(xb, yb)
            if last is not None:
                last.numpy()
            epoch_s.append(time.perf_counter() - t0)
            history.append(evaluate(vx, vy))
        return {"framework": FRAMEWORK, "model": model, "device": device, "pipeline": "manual", "epochs": epochs,
                "dataset": self.config["dataset"], "source": data.get("source"), "train_s": sum(epoch_s),
                "epoch_s": epoch_s, "val": history, "test": evaluate(tx, ty)}


def main(argv: list[str]) -> int:
    return bc.main(argv, FRAMEWORK, TF)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
