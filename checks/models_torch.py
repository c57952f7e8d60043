"""The lab's reference models in PyTorch, exactly as its manual specifies."""

from __future__ import annotations

import torch
from torch import nn


def mlp() -> nn.Module:
    """California Housing regression: Linear(8->100) ReLU Linear(100->100) ReLU Linear(100->1)."""
    return nn.Sequential(
        nn.Linear(8, 100),
        nn.ReLU(),
        nn.Linear(100, 100),
        nn.ReLU(),
        nn.Linear(100, 1),
    )


def cnn() -> nn.Module:
    """CIFAR-10 classifier: (Conv3x3 pad 1 -> MaxPool2 -> ReLU) x3 -> Flatten(512) -> 100 -> 100 -> 10 (softmax in the loss)."""
    return nn.Sequential(
        nn.Conv2d(3, 32, kernel_size=3, padding=1),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(32, 32, kernel_size=3, padding=1),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(32, 32, kernel_size=3, padding=1),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 100),
        nn.ReLU(),
        nn.Linear(100, 100),
        nn.ReLU(),
        nn.Linear(100, 10),
    )


def build(name: str) -> tuple[nn.Module, nn.Module]:
    """(model, loss) for "mlp" (MSE) or "cnn" (cross-entropy on sparse labels)."""
    if name == "mlp":
        return mlp(), nn.MSELoss()
    if name == "cnn":
        return cnn(), nn.CrossEntropyLoss()
    raise ValueError(f"unknown model {name!r}")


def optimizer(model: nn.Module, **kwargs: object) -> torch.optim.Optimizer:
    """Adam, learning rate 1e-3, as in the manual."""
    return torch.optim.Adam(model.parameters(), lr=1e-3, **kwargs)  # type: ignore[arg-type]
