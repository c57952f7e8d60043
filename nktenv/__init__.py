"""nktenv: from "just arrived" to "proven fast" for a GPU machine."""

__version__ = "0.1.0"
