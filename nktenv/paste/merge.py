"""Pieces from several pastes -> one `nktenv.facts/1` snapshot, each entry saying where it came from.

The first paste that states a value wins; a later paste that states another one is recorded under
`pasted.conflicts` instead of being silently dropped. Nothing is inferred: a key no paste stated
stays null (unknown), so the rules can tell "not pasted" from "absent".
"""

from __future__ import annotations

import re
from typing import Any

from nktenv.facts import (SCHEMA_ID, CpuFacts, CudaToolkit, Cudnn, DriverFacts, Facts, Framework, Frameworks, Gpu,
                          GpuProcess, KernelModule, LogText, MigDevice, OsFacts, PythonFacts)


def _fill(target: dict[str, Any], data: dict[str, Any], origin: str, conflicts: list[dict[str, Any]], where: str,
          origins: dict[str, str] | None = None) -> None:
    for key, value in data.items():
        if value is None:
            continue
        old = target.get(key)
        if old is None:
            target[key] = value
            if origins is not None:
                origins.setdefault(f"{where}.{key}", origin)
        elif isinstance(old, dict) and isinstance(value, dict):
            _fill(old, value, origin, conflicts, f"{where}.{key}", origins)
        elif old != value and not isinstance(old, (list, dict)):
            conflicts.append({"field": f"{where}.{key}", "kept": old, "other": value, "from": origin})


def _same_gpu(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("name") and b.get("name") and not _names_match(a["name"], b["name"]):
        return False  # two pastes that disagree on the model are two GPUs (or two machines)
    if a.get("uuid") and b.get("uuid"):
        return a["uuid"] == b["uuid"]
    if a.get("pci_bus_id") and b.get("pci_bus_id"):
        return a["pci_bus_id"].lower()[-12:] == b["pci_bus_id"].lower()[-12:]
    if a.get("index") is not None and b.get("index") is not None:
        return a["index"] == b["index"]
    return _names_match(a.get("name"), b.get("name"))


def _names_match(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    a2, b2 = (re.sub(r"\s*(?:\.\.\.|…)$", "", n).strip().lower() for n in (a, b))
    return a2 == b2 or a2.startswith(b2) or b2.startswith(a2)


class _Acc:
    def __init__(self) -> None:
        self.driver: dict[str, Any] = {}
        self.gpus: list[dict[str, Any]] = []
        self.toolkits: list[dict[str, Any]] = []
        self.cudnn: list[dict[str, Any]] = []
        self.torch: dict[str, Any] = {}
        self.tf: dict[str, Any] = {}
        self.packages: dict[str, str] = {}
        self.conda: dict[str, Any] = {}
        self.os: dict[str, Any] = {}
        self.python: dict[str, Any] = {}
        self.cpu: dict[str, Any] = {}
        self.env: dict[str, str] = {}
        self.conflicts: list[dict[str, Any]] = []
        self.sources: dict[str, list[str]] = {}
        self.origins: dict[str, str] = {}  # "driver.version" -> the paste kind that stated it first
        self.wheel_index: dict[str, str] = {}  # distribution -> the download.pytorch.org folder it came from

    def _from(self, section: str, origin: str) -> None:
        self.sources.setdefault(section, [])
        if origin not in self.sources[section]:
            self.sources[section].append(origin)

    def add(self, data: dict[str, Any], origin: str) -> None:
        for section, target in (("driver", self.driver), ("torch", self.torch), ("tensorflow", self.tf),
                                ("os", self.os), ("python", self.python), ("cpu", self.cpu), ("env", self.env),
                                ("conda", self.conda)):
            if data.get(section):
                _fill(target, data[section], origin, self.conflicts, section, self.origins)
                self._from(section, origin)
        for k, v in (data.get("wheel_index") or {}).items():
            self.wheel_index.setdefault(k, v)
        if data.get("packages"):
            for k, v in data["packages"].items():
                self.packages.setdefault(k, v)
            self._from("packages", origin)
        for gpu in data.get("gpus") or []:
            self._add_gpu(gpu, origin)
        for tk in data.get("toolkits") or []:
            if not any(t.get("version") == tk.get("version") for t in self.toolkits):
                self.toolkits.append({**tk, "source": origin})
        for c in data.get("cudnn") or []:
            if not any(x.get("location") == c.get("location") and x.get("version") == c.get("version") for x in self.cudnn):
                self.cudnn.append({**c, "provenance": origin})

    def _add_gpu(self, gpu: dict[str, Any], origin: str) -> None:
        matches = [g for g in self.gpus if _same_gpu(g, gpu)]
        if not matches and gpu.get("index") is None:
            matches = [g for g in self.gpus if _names_match(g.get("name"), gpu.get("name"))]
        if not matches:
            new = {k: v for k, v in gpu.items() if v is not None}
            if new.get("index") is None or any(g.get("index") == new["index"] for g in self.gpus):
                if new.get("index") is not None:
                    self.conflicts.append({"field": f"gpus[{new['index']}].name", "kept": next(
                        g.get("name") for g in self.gpus if g.get("index") == new["index"]),
                        "other": new.get("name"), "from": origin})
                new["index"] = len(self.gpus)
            new["source"] = origin
            self.gpus.append(new)
            return
        for g in matches:
            if gpu.get("name") and g.get("name_truncated") and not gpu.get("name_truncated") \
                    and _names_match(g.get("name"), gpu["name"]):
                g["name"] = gpu["name"]
                g.pop("name_truncated", None)
            g.setdefault("also_from", [])
            if origin != g.get("source") and origin not in g["also_from"]:
                g["also_from"].append(origin)
            for key, value in gpu.items():
                if key in ("index", "name", "name_truncated") or value is None:
                    continue
                if g.get(key) is None:
                    g[key] = value


def _gpu(d: dict[str, Any]) -> Gpu:
    procs = d.get("processes")
    extra = {k: d[k] for k in ("source", "also_from", "memory_used_bytes", "persistence_mode", "name_truncated",
                                "architecture") if d.get(k) not in (None, [])}
    return Gpu(
        index=d.get("index"), vendor=d.get("vendor", "nvidia"), name=d.get("name"), uuid=d.get("uuid"),
        compute_capability=d.get("compute_capability"), arch=d.get("arch"),
        memory_total_bytes=d.get("memory_total_bytes"), pci_bus_id=d.get("pci_bus_id"),
        driver_model=d.get("driver_model"), compute_mode=d.get("compute_mode"), mig_mode=d.get("mig_mode"),
        mig_devices=tuple(MigDevice(index=m.get("index"), uuid=m.get("uuid"), name=m.get("name"),
                                    memory_total_bytes=m.get("memory_total_bytes"),
                                    extra={k: m[k] for k in ("gpu_instance", "compute_instance") if k in m})
                          for m in d.get("mig_devices") or []),
        processes=None if procs is None else tuple(
            GpuProcess(pid=p.get("pid"), name=p.get("name"), used_memory_bytes=p.get("used_memory_bytes"),
                       type=p.get("type")) for p in procs),
        extra=extra,
    )


def _framework(d: dict[str, Any], origin: list[str], packages: dict[str, str]) -> Framework:
    extra: dict[str, Any] = {"source": origin[0], "sources": origin}
    if d.get("wheel_index"):
        extra["wheel_index"] = d["wheel_index"]
    if d.get("xformers_built_for"):
        extra["xformers_built_for"] = d["xformers_built_for"]  # the torch xFormers' kernels were compiled against
    if d.get("collect_env"):
        extra["collect_env"] = d["collect_env"]
    return Framework(
        version=d.get("version"), package=d.get("package"), cuda=d.get("cuda"), cudnn=d.get("cudnn_version"),
        is_cuda_build=d.get("is_cuda_build"), cuda_available=d.get("cuda_available"),
        device_count=d.get("device_count"), arch_list=tuple(d.get("arch_list") or ()),
        packages=packages or None, extra=extra,
    )


def _frameworks_from_packages(acc: _Acc) -> None:
    """A package list names the installed torch/TensorFlow even when nothing else was pasted."""
    from nktenv.paste.model import cuda_from_tag

    pk = acc.packages
    conda_pk = acc.conda.get("packages") or {}
    torch_v = pk.get("torch") or conda_pk.get("pytorch")
    if torch_v and not acc.torch.get("version"):
        acc.torch.setdefault("version", torch_v)
        acc.torch.setdefault("package", "torch")
        build, cuda = cuda_from_tag(torch_v)
        if build is None and acc.wheel_index.get("torch"):
            # Old indexes served untagged names: the folder (/whl/cu101/) says which build it is.
            build, cuda = cuda_from_tag(f"{torch_v}+{acc.wheel_index['torch']}")
            acc.torch.setdefault("wheel_index", acc.wheel_index["torch"])
        if build is not None:
            acc.torch.setdefault("is_cuda_build", build)
        if cuda:
            acc.torch.setdefault("cuda", cuda)
        acc._from("torch", acc.sources.get("packages", ["pasted"])[0])
    for name in ("tensorflow", "tensorflow-gpu", "tensorflow-cpu", "tf-nightly", "tensorflow-intel"):
        v = pk.get(name) or (conda_pk.get(name) if name == "tensorflow" else None)
        if v:
            acc.tf.setdefault("version", v)
            acc.tf.setdefault("package", name)
            acc._from("tensorflow", acc.sources.get("packages", ["pasted"])[0])
            break
    for name, v in pk.items():
        m = re.fullmatch(r"nvidia-cudnn-(cu\d+)", name)
        if m:
            acc.cudnn.append({"version": v, "location": f"pip:{name}", "source": "pip", "distribution": name,
                              "provenance": acc.sources.get("packages", ["pasted"])[0]})
    if conda_pk.get("cudnn"):
        acc.cudnn.append({"version": conda_pk["cudnn"], "location": acc.conda.get("prefix"), "source": "conda",
                          "provenance": acc.sources.get("conda", ["pasted"])[0]})
    if conda_pk.get("cudatoolkit"):
        acc.toolkits.append({"version": ".".join(conda_pk["cudatoolkit"].split(".")[:2]),
                             "full_version": conda_pk["cudatoolkit"], "root": acc.conda.get("prefix"),
                             "source": acc.sources.get("conda", ["pasted"])[0], "found_by": "conda"})


def build(acc: _Acc, records: list[dict[str, Any]], logs: list[LogText]) -> Facts:
    from nktenv.paste.model import cuda_from_tag

    _frameworks_from_packages(acc)
    if acc.torch.get("version"):
        build_, cuda = cuda_from_tag(acc.torch["version"])  # "+cu128" / "+cpu" say what the build is
        if build_ is not None:
            acc.torch.setdefault("is_cuda_build", build_)
        if cuda:
            acc.torch.setdefault("cuda", cuda)
    o = acc.os
    system = o.get("system")
    if system is None:
        # The contract needs a system; without evidence say so (os.system_source = "assumed").
        system, system_source = "linux", "assumed"
    else:
        system_source = acc.origins.get("os.system") or acc.sources.get("os", ["pasted"])[0]
    os_facts = OsFacts(system=system, release=o.get("release"), distro=o.get("distro"), arch=o.get("arch"),
                       wsl=o.get("wsl"), glibc=o.get("glibc"), extra={"system_source": system_source})
    driver = None
    d = acc.driver
    if d:
        km = d.get("kernel_module")
        origin = acc.origins.get("driver.version") or acc.sources["driver"][0]
        kind = origin.split(":", 1)[1]
        extra: dict[str, Any] = {"provenance": origin, "sources": acc.sources["driver"]}
        if d.get("smi_version") or d.get("nvidia_smi_error"):
            extra["nvidia_smi"] = {"found": True, "version": d.get("smi_version"), "driver_version": d.get("version"),
                                   "cuda_version": d.get("cuda_version"), "error": d.get("nvidia_smi_error"),
                                   "pasted": True}
        if d.get("proc_version"):
            extra["proc_version"] = d["proc_version"]
        driver = DriverFacts(
            version=d.get("version"), cuda_version=d.get("cuda_version"),
            source={"proc-driver-version": "procfs", "nvidia-smi": "nvidia-smi", "nvidia-smi-q": "nvidia-smi",
                    "nvidia-smi-L": "nvidia-smi", "collect_env": "nvidia-smi"}.get(kind) if d.get("version") else None,
            kernel_module=KernelModule(**km) if km else None,
            userspace_version=d.get("smi_version"), errors=tuple(d.get("errors") or ()), extra=extra)
    py = None
    if acc.python or acc.packages:
        p = acc.python
        pextra: dict[str, Any] = {"source": (acc.sources.get("python") or acc.sources.get("packages"))[0]}
        if acc.packages:
            pextra["packages"] = dict(sorted(acc.packages.items()))
        if p.get("conda_prefix"):
            pextra["conda_prefix"] = p["conda_prefix"]
        py = PythonFacts(version=p.get("version"), executable=p.get("executable"), kind=p.get("kind"), extra=pextra)
    torch_pk = {k: v for k, v in acc.packages.items() if k.startswith(("torch", "nvidia-", "triton", "xformers",
                                                                          "flash", "bitsandbytes"))}
    tf_pk = {k: v for k, v in acc.packages.items() if k.startswith(("tensorflow", "tf-", "keras", "nvidia-", "tensorrt"))}
    frameworks = None
    if acc.torch or acc.tf:
        frameworks = Frameworks(
            torch=_framework(acc.torch, acc.sources.get("torch", ["pasted"]), torch_pk) if acc.torch else None,
            tensorflow=_framework(acc.tf, acc.sources.get("tensorflow", ["pasted"]), tf_pk) if acc.tf else None,
            # null here means "no paste spoke of it", not "not installed" as it does for a probe
            extra={"pasted": True, "not_pasted": [n for n, d in (("torch", acc.torch), ("tensorflow", acc.tf)) if not d]})
    cpu = CpuFacts(model=acc.cpu.get("model"), logical_cores=acc.cpu.get("logical_cores"),
                   extra={"source": acc.sources["cpu"][0]}) if acc.cpu else None
    toolkits = tuple(CudaToolkit(version=t.get("version"), root=t.get("root"), source=t.get("source"),
                                 extra={k: t[k] for k in ("full_version", "found_by") if t.get(k)})
                     for t in acc.toolkits)
    cudnn = tuple(Cudnn(version=c.get("version"), location=c.get("location"), source=c.get("source"),
                        extra={k: c[k] for k in ("provenance", "distribution") if c.get(k)}
                        | ({"major": int(c["version"].split(".")[0])} if c.get("version") and c["version"].split(".")[0].isdigit() else {}))
                  for c in acc.cudnn)
    blocks = {"driver": driver, "gpus": acc.gpus, "cuda_toolkits": toolkits, "cudnn": cudnn, "python": py,
              "frameworks": frameworks, "env": acc.env, "cpu": cpu, "memory": None, "windows": None}
    # What no paste spoke of: an empty list or a null here is "unknown", not "none found".
    unknown = [name for name, value in blocks.items() if not value]
    root_extra: dict[str, Any] = {"pasted": {"files": records, "conflicts": acc.conflicts, "unknown": unknown}}
    return Facts(schema=SCHEMA_ID, os=os_facts, driver=driver, gpus=tuple(_gpu(g) for g in acc.gpus),
                 cuda_toolkits=toolkits, cudnn=cudnn, python=py, cpu=cpu, env=dict(acc.env) or None,
                 frameworks=frameworks, logs=tuple(logs), extra=root_extra)


def facts_from_pastes(pastes: list[tuple[str, str]]) -> Facts:
    """Every (name, text) read, recognised, merged in order. Unread lines stay as a log each."""
    from nktenv.paste import normalise, parse, recognise

    acc = _Acc()
    records: list[dict[str, Any]] = []
    logs: list[LogText] = []
    for name, text in pastes:
        lines = normalise(text).split("\n")
        kinds = recognise(text)
        pieces = parse(text)
        structured = set()
        for piece in pieces:
            origin = f"pasted:{piece.kind}"
            if piece.kind == "error":
                origin = f"pasted:{name}"
            acc.add(piece.data, origin)
            if piece.kind != "error":
                structured |= piece.lines
        read_ = set().union(*(p.lines for p in pieces)) if pieces else set()
        body = [i for i, ln in enumerate(lines) if ln.strip()]
        records.append({"name": name, "kinds": kinds, "lines": len(body),
                        "lines_read": sum(1 for i in body if i in read_)})
        # Error reports and whatever no parser read stay verbatim: the rules grep logs.
        rest = "\n".join(ln for i, ln in enumerate(lines) if ln.strip() and i not in structured)
        if rest.strip():
            logs.append(LogText(text=rest, source=f"pasted:{name}"))
    return build(acc, records, logs)
