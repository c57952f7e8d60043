"""The lab's reference models in TensorFlow/Keras, exactly as its manual specifies."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

keras = tf.keras
layers = keras.layers


def mlp() -> Any:
    """Dense(100, relu) -> Dense(100) -> ReLU -> Dense(1), as the manual writes it."""
    return keras.Sequential([
        keras.Input(shape=(8,)),
        layers.Dense(100, activation="relu"),
        layers.Dense(100),
        layers.ReLU(),
        layers.Dense(1),
    ])


def cnn() -> Any:
    """(Conv3x3 same -> MaxPool2 -> ReLU) x3 -> Flatten(512) -> Dense 100 -> 100 -> 10 softmax; NHWC."""
    return keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(32, 3, padding="same"),
        layers.MaxPooling2D(2),
        layers.ReLU(),
        layers.Conv2D(32, 3, padding="same"),
        layers.MaxPooling2D(2),
        layers.ReLU(),
        layers.Conv2D(32, 3, padding="same"),
        layers.MaxPooling2D(2),
        layers.ReLU(),
        layers.Flatten(),
        layers.Dense(100, activation="relu"),
        layers.Dense(100, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def build(name: str) -> tuple[Any, Any]:
    """(model, loss): MSE for the MLP, sparse categorical cross-entropy (softmax output) for the CNN."""
    if name == "mlp":
        return mlp(), keras.losses.MeanSquaredError()
    if name == "cnn":
        return cnn(), keras.losses.SparseCategoricalCrossentropy()
    raise ValueError(f"unknown model {name!r}")


def optimizer() -> Any:
    """Adam, learning rate 1e-3, as in the manual."""
    return keras.optimizers.Adam(learning_rate=1e-3)
