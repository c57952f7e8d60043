"""Builders for facts documents: a healthy lab machine, changed one fact at a time."""

from __future__ import annotations

import copy
from typing import Any

from nktenv.doctor import diagnose
from nktenv.facts import from_dict
from nktenv.findings import Finding


def healthy_linux() -> dict[str, Any]:
    """Ubuntu 22.04, RTX 3090, driver 550, torch 2.5.1+cu124 in a venv: everything works."""
    return {
        "schema": "nktenv.facts/1",
        "os": {"system": "linux", "release": "6.5.0-35-generic", "distro": "Ubuntu 22.04.4 LTS", "arch": "x86_64",
               "wsl": False, "container": False, "glibc": "2.35", "secure_boot": False},
        "python": {"version": "3.10.12", "executable": "/home/lab/venv/bin/python", "kind": "venv"},
        "driver": {
            "version": "550.54.15", "cuda_version": "12.4", "source": "nvml",
            "kernel_module": {"loaded": True, "version": "550.54.15", "flavor": "proprietary"},
            "userspace_version": "550.54.15", "nouveau_loaded": False, "nvidia_uvm_loaded": True,
            "device_nodes": True, "errors": [], "kernel_log": [],
        },
        "gpus": [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 3090", "compute_capability": "8.6",
                  "uuid": "GPU-11111111-2222-3333-4444-555555555555", "memory_total_bytes": 25769803776}],
        "cuda_toolkits": [],
        "cudnn": [{"version": "9.1.0", "location": "torch:2.5.1+cu124", "source": "framework"}],
        "env": {"CUDA_VISIBLE_DEVICES": None, "LD_LIBRARY_PATH": None, "PATH": "/usr/local/bin:/usr/bin:/bin"},
        "frameworks": {
            "torch": {"version": "2.5.1+cu124", "package": "torch", "cuda": "12.4", "cudnn": "9.1.0",
                      "is_cuda_build": True, "cuda_available": True, "device_count": 1,
                      "arch_list": ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"],
                      "kernel_ok": True, "packages": {"torch": "2.5.1+cu124", "nvidia-cudnn-cu12": "9.1.0.70"}},
            "tensorflow": None,
        },
        "logs": [],
    }


def healthy_windows() -> dict[str, Any]:
    """Windows 11 lab box, RTX 4090, driver 560.94, python.org 3.10 venv under a Japanese user name."""
    doc = healthy_linux()
    doc["os"] = {"system": "windows", "release": "10.0.22631", "arch": "x86_64", "wsl": False, "container": False}
    doc["python"] = {"version": "3.10.11", "executable": "C:\\Users\\藤澤\\lab\\.venv\\Scripts\\python.exe", "kind": "venv"}
    doc["driver"] = {"version": "560.94", "cuda_version": "12.6", "source": "nvml", "errors": [], "kernel_log": []}
    doc["gpus"] = [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 4090", "compute_capability": "8.9"}]
    doc["windows"] = {"long_paths_enabled": True, "vc_runtime_version": "14.38.33130.00",
                      "dlls_on_path": {}, "vc_runtime_dll": "C:\\Windows\\System32\\vcruntime140.dll"}
    doc["env"] = {"PATH": "C:\\Windows\\system32;C:\\Windows", "CUDA_VISIBLE_DEVICES": None}
    return doc


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `patch` into a copy of `base` (dicts merge, everything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def run(doc: dict[str, Any]) -> list[Finding]:
    return diagnose(from_dict(doc))


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    for f in findings:
        out.setdefault(f.code, f)
    return out
