"""Runs INSIDE the target interpreter: do the framework's companion packages really work?

    python companions.py torchvision torchaudio

A companion can import and still be broken: torchvision's compiled operators fail to load beside a
torch build they were not made for ("operator torchvision::nms does not exist"). So each one runs a
native operator, not just an import. Prints one JSON document; stdlib plus the packages only.
"""

from __future__ import annotations

import json
import sys
import traceback

SCHEMA = "nktenv.companions/1"


def _torchvision() -> str:
    import torch
    import torchvision
    from torchvision.ops import nms

    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    keep = nms(boxes, torch.tensor([0.9, 0.8]), 0.5)  # the compiled operator, not Python
    if keep.tolist() != [0]:
        raise RuntimeError("torchvision.ops.nms returned %r for two identical boxes" % keep.tolist())
    return torchvision.__version__


def _torchaudio() -> str:
    import torch
    import torchaudio
    import torchaudio.functional as F

    out = F.lowpass_biquad(torch.zeros(1, 64), 16000, 1000.0)
    if tuple(out.shape) != (1, 64):
        raise RuntimeError("torchaudio lowpass_biquad returned shape %r" % (tuple(out.shape),))
    return torchaudio.__version__


CHECKS = {"torchvision": _torchvision, "torchaudio": _torchaudio}


def main(names: list[str]) -> int:
    results = {}
    for name in names:
        check = CHECKS.get(name)
        if check is None:
            results[name] = {"version": None, "error": "no check for %s" % name}
            continue
        try:
            results[name] = {"version": check(), "error": None}
        except BaseException as exc:  # noqa: BLE001 - reported, verbatim
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            results[name] = {"version": None, "error": last}
    print(json.dumps({"schema": SCHEMA, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
