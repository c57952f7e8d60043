"""Benchmark the lab's reference MLP and CNN in PyTorch, inside the target interpreter.

Usage: python bench_torch.py --config '{"models": ["cnn"], "devices": "all", "quick": true}'
Progress and each finished row go to stderr as `@nktenv {json}` lines; one JSON document goes to stdout.
Every row is isolated: an OOM or CUDA error becomes a failed row with the verbatim error and the rest goes on.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_common as bc  # noqa: E402

FRAMEWORK = "torch"


class Torch:
    """Everything that touches torch, so the script reads top-down."""

    def __init__(self, config: dict[str, Any]) -> None:
        import torch

        import models_torch

        self.torch = torch
        self.models = models_torch
        self.config = config
        self.threads = int(config["threads"] or bc.usable_cpus())
        # All cores, explicitly: a benchmark must never run single-threaded by accident.
        torch.set_num_threads(self.threads)
        torch.backends.cudnn.benchmark = True
        try:
            import torchvision  # noqa: F401
            from torchvision import transforms

            self.tv_transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
            self.torchvision = torchvision.__version__
        except Exception:
            self.tv_transform = None
            self.torchvision = None

    # ------------------------------------------------------------------ devices and versions

    def devices(self) -> list[str]:
        wanted = self.config["devices"]
        torch = self.torch
        if wanted == "all" or wanted == ["all"]:
            found = ["cpu"]
            if torch.cuda.is_available():
                found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
            return found
        return list(wanted)

    def gpu_count(self) -> int:
        torch = self.torch
        return torch.cuda.device_count() if torch.cuda.is_available() else 0

    def device_name(self, device: str) -> str | None:
        if device == "cpu":
            return bc.cpu_name()
        try:
            return self.torch.cuda.get_device_name(self.torch.device(device))
        except Exception:
            return None

    def device_uuid(self, device: str) -> str | None:
        """The GPU's UUID, so telemetry samples the same board whatever CUDA_VISIBLE_DEVICES says."""
        if device == "cpu":
            return None
        try:
            return str(self.torch.cuda.get_device_properties(self.torch.device(device)).uuid)
        except Exception:
            return None

    def versions(self) -> dict[str, Any]:
        torch = self.torch
        cudnn = None
        try:
            cudnn = torch.backends.cudnn.version()
        except Exception:
            pass
        return {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchvision": self.torchvision,
            "cuda": torch.version.cuda,
            "cudnn": str(cudnn) if cudnn else None,
            "numpy": bc.dist_version("numpy"),  # None: not installed (torch does not bring it)
        }

    def sync_for(self, device: str):
        torch = self.torch
        if device.startswith("cuda"):
            dev = torch.device(device)
            return lambda: torch.cuda.synchronize(dev)
        return lambda: None

    # ------------------------------------------------------------------ data

    def tensors(self, model: str, x: Any, y: Any, device: str) -> tuple[Any, Any]:
        """Model-ready tensors on `device`: the CNN gets normalised NCHW float32, labels int64."""
        torch = self.torch
        if model == "cnn":
            xt = torch.from_numpy(bc.normalize_images(x)).permute(0, 3, 1, 2).contiguous()
            return xt.to(device), torch.from_numpy(y).to(device)
        return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

    def per_image(self, image: Any) -> Any:
        """The manual's per-image ToTensor + Normalize(0.5, 0.5); same semantics without torchvision."""
        if self.tv_transform is not None:
            from PIL import Image

            return self.tv_transform(Image.fromarray(image))
        t = self.torch.from_numpy(image).permute(2, 0, 1).contiguous().to(self.torch.float32).div_(255.0)
        return t.sub_(0.5).div_(0.5)

    def loader(self, model: str, x: Any, y: Any, batch_size: int, seed: int) -> Any:
        """The lab's DataLoader: per-sample dataset, batch 100, shuffled, default workers (0)."""
        torch = self.torch
        from torch.utils.data import DataLoader, Dataset, TensorDataset

        outer = self

        class Images(Dataset):
            def __len__(self) -> int:
                return len(x)

            def __getitem__(self, i: int) -> Any:
                return outer.per_image(x[i]), int(y[i])

        dataset = Images() if model == "cnn" else TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))

    # ------------------------------------------------------------------ arms

    def _model(self, model: str, device: str, seed: int, **opt_kwargs: Any) -> tuple[Any, Any, Any]:
        self.torch.manual_seed(seed)
        net, loss_fn = self.models.build(model)
        net.to(device)
        return net, loss_fn, self.models.optimizer(net, **opt_kwargs)

    def _probe(self, net: Any, loss_fn: Any, px: Any, py: Any):
        torch = self.torch

        def probe() -> float:
            net.eval()
            with torch.no_grad():
                value = float(loss_fn(net(px), py).item())
            net.train()
            return value

        return probe

    def make_arm(self, model: str, pipeline: str, device: str, data: dict[str, Any], batch_size: int) -> bc.Arm:
        torch = self.torch
        seed = self.config["seed"]
        key = {"model": model, "pipeline": pipeline, "device": device}
        sync = self.sync_for(device)
        n_probe = 500 if model == "cnn" else 1000
        px, py = self.tensors(model, data["x"][:n_probe], data["y"][:n_probe], device)

        if pipeline == "manual":
            net, loss_fn, opt = self._model(model, device, seed)
            loader = self.loader(model, data["x"], data["y"], batch_size, seed)

            def forever():
                while True:
                    yield from loader

            it = forever()

            def step() -> Any:
                t0 = time.perf_counter()
                xb, yb = next(it)
                xb, yb = xb.to(device), yb.to(device)  # moved inside the loop, as the manual does
                arm.loader_s += time.perf_counter() - t0
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(xb), yb)
                loss.backward()
                opt.step()
                return loss.detach()

        elif pipeline == "resident" or (pipeline == "compiled" and device == "cpu"):
            net, loss_fn, opt = self._model(model, device, seed)
            xs, ys = self.tensors(model, data["x"], data["y"], device)
            gen = torch.Generator(device=device)
            gen.manual_seed(seed)
            n = xs.shape[0]
            fwd = torch.compile(net) if pipeline == "compiled" else net

            def step() -> Any:
                idx = torch.randint(0, n, (batch_size,), device=device, generator=gen)
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(fwd(xs.index_select(0, idx)), ys.index_select(0, idx))
                loss.backward()
                opt.step()
                return loss.detach()

        elif pipeline == "compiled":
            # CUDA: capture the whole training step (forward, backward, Adam) as one CUDA graph.
            net, loss_fn, opt = self._model(model, device, seed, capturable=True)
            probe = self._probe(net, loss_fn, px, py)
            loss_first = probe()
            xs, ys = self.tensors(model, data["x"], data["y"], device)
            gen = torch.Generator(device=device)
            gen.manual_seed(seed)
            n = xs.shape[0]
            static_x, static_y = xs[:batch_size].clone(), ys[:batch_size].clone()
            side = torch.cuda.Stream(device=device)
            side.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side):
                for _ in range(3):
                    opt.zero_grad(set_to_none=True)
                    loss_fn(net(static_x), static_y).backward()
                    opt.step()
            torch.cuda.current_stream(device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            opt.zero_grad(set_to_none=True)
            with torch.cuda.graph(graph):
                static_loss = loss_fn(net(static_x), static_y)
                static_loss.backward()
                opt.step()

            def step() -> Any:
                idx = torch.randint(0, n, (batch_size,), device=device, generator=gen)
                torch.index_select(xs, 0, idx, out=static_x)
                torch.index_select(ys, 0, idx, out=static_y)
                graph.replay()
                return static_loss

            arm = bc.Arm(key, step, sync, batch_size, lambda t: float(t.item()))
            arm.probe = probe
            arm.loss_first = loss_first
            return arm
        else:
            raise ValueError(f"unknown pipeline {pipeline!r}")

        arm = bc.Arm(key, step, sync, batch_size, lambda t: float(t.item()))
        arm.probe = self._probe(net, loss_fn, px, py)
        return arm

    # ------------------------------------------------------------------ ceilings

    def _rate(self, fn, sync, min_s: float) -> tuple[int, float]:
        fn()
        sync()
        reps, t0 = 0, time.perf_counter()
        while True:
            fn()
            reps += 1
            if reps % 4 == 0 or reps < 4:
                sync()
                dt = time.perf_counter() - t0
                if dt >= min_s:
                    return reps, dt

    def limits(self, device: str, data: dict[str, Any]) -> dict[str, Any]:
        """The device's own ceilings: matmul FLOP/s, device copy bytes/s, host-to-device bytes/s, launch overhead."""
        torch = self.torch
        sync = self.sync_for(device)
        quick = self.config["quick"]
        cuda = device.startswith("cuda")
        min_s = 0.15 if quick else 0.4
        out: dict[str, Any] = {"framework": FRAMEWORK, "device": device, "device_name": self.device_name(device)}

        n = 4096 if cuda else (768 if quick else 1536)
        a = torch.randn(n, n, device=device)
        b = torch.randn(n, n, device=device)
        reps, dt = self._rate(lambda: torch.mm(a, b), sync, min_s)
        out["matmul_flops"] = 2.0 * n**3 * reps / dt
        out["matmul_flops_tf32"] = None
        if cuda:
            old = torch.backends.cuda.matmul.allow_tf32
            torch.backends.cuda.matmul.allow_tf32 = True
            try:
                reps, dt = self._rate(lambda: torch.mm(a, b), sync, min_s)
                out["matmul_flops_tf32"] = 2.0 * n**3 * reps / dt
            finally:
                torch.backends.cuda.matmul.allow_tf32 = old

        size = (256 if cuda else 64) * 2**20
        src = torch.empty(size // 4, device=device)
        dst = torch.empty_like(src)
        reps, dt = self._rate(lambda: dst.copy_(src), sync, min_s)
        out["d2d_bytes_per_s"] = 2.0 * size * reps / dt  # read + write, as bandwidthTest counts D2D

        out["h2d_bytes_per_s"] = None
        out["h2d_pageable_bytes_per_s"] = None
        if cuda:
            size = 32 * 2**20
            pinned = torch.empty(size // 4, pin_memory=True)
            pageable = torch.empty(size // 4)
            dst = torch.empty(size // 4, device=device)
            reps, dt = self._rate(lambda: dst.copy_(pinned, non_blocking=True), sync, min_s)
            out["h2d_bytes_per_s"] = size * reps / dt
            reps, dt = self._rate(lambda: dst.copy_(pageable), sync, min_s)
            out["h2d_pageable_bytes_per_s"] = size * reps / dt

        x = torch.zeros(1, device=device)

        def thousand_adds() -> None:
            for _ in range(1000):
                x.add_(1.0)

        reps, dt = self._rate(thousand_adds, sync, min_s / 2)
        out["launch_overhead_s"] = dt / (reps * 1000)

        out["step_overhead_s"] = bc.step_overhead(self, device, data)
        return out

    # ------------------------------------------------------------------ correctness

    def correctness(self, model: str, devices: list[str], data: dict[str, Any], steps: int = 5) -> dict[str, Any]:
        """Same seed, same initial weights, same batches on each device: the losses must agree."""
        torch = self.torch
        seed = self.config["seed"]
        torch.manual_seed(seed)
        base, _ = self.models.build(model)
        state = {k: v.clone() for k, v in base.state_dict().items()}
        bs = 100
        xs, ys = self.tensors(model, data["x"][: bs * steps], data["y"][: bs * steps], "cpu")
        results = []
        for device in devices:
            net, loss_fn = self.models.build(model)
            net.load_state_dict(state)
            net.to(device)
            opt = self.models.optimizer(net)
            losses = []
            for i in range(steps):
                xb, yb = xs[i * bs : (i + 1) * bs].to(device), ys[i * bs : (i + 1) * bs].to(device)
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(xb), yb)
                loss.backward()
                opt.step()
                losses.append(float(loss.item()))
            results.append({"device": device, "losses": losses})
        return bc.compare_losses(FRAMEWORK, model, results, steps)

    # ------------------------------------------------------------------ full training

    def train(self, model: str, device: str, data: dict[str, Any], epochs: int) -> dict[str, Any]:
        """The manual's training: the DataLoader pipeline for N epochs, validation after each, test at the end."""
        torch = self.torch
        seed = self.config["seed"]
        net, loss_fn, opt = self._model(model, device, seed)
        loader = self.loader(model, data["x"], data["y"], 100, seed)
        vx, vy = self.tensors(model, *data["val"], device)
        tx, ty = self.tensors(model, *data["test"], device)
        sync = self.sync_for(device)

        def evaluate(x: Any, y: Any) -> dict[str, float]:
            net.eval()
            with torch.no_grad():
                losses, correct = [], 0
                for i in range(0, len(x), 1000):
                    out = net(x[i : i + 1000])
                    losses.append(float(loss_fn(out, y[i : i + 1000]).item()) * len(out))
                    if model == "cnn":
                        correct += int((out.argmax(1) == y[i : i + 1000]).sum().item())
            net.train()
            result = {"loss": sum(losses) / len(x)}
            if model == "cnn":
                result["accuracy"] = correct / len(x)
            return result

        epoch_s, history = [], []
        for _ in range(epochs):
            sync()
            t0 = time.perf_counter()
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                opt.zero_grad(set_to_none=True)
                loss_fn(net(xb), yb).backward()
                opt.step()
            sync()
            epoch_s.append(time.perf_counter() - t0)
            history.append(evaluate(vx, vy))
        return {
            "framework": FRAMEWORK,
            "model": model,
            "device": device,
            "pipeline": "manual",
            "epochs": epochs,
            "dataset": self.config["dataset"],
            "source": data.get("source"),
            "train_s": sum(epoch_s),
            "epoch_s": epoch_s,
            "val": history,
            "test": evaluate(tx, ty),
        }


def main(argv: list[str]) -> int:
    return bc.main(argv, FRAMEWORK, Torch)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
