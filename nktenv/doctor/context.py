"""What every rule reads: the facts, the manifests, and the evidence texts, pre-split into lines.

Pure: built from a Facts value and a Manifests value; no I/O, no environment, no clock.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterable

from nktenv.doctor.logmatch import Unwrapped, split_lines
from nktenv.facts import Facts, Framework, Gpu
from nktenv.findings import Finding
from nktenv.i18n import _

if TYPE_CHECKING:  # pragma: no cover
    from nktenv.manifest import Manifests


@dataclass(frozen=True)
class Line:
    """One line of evidence text and where it came from (e.g. `tensorflow.log`, `log:pip.txt`)."""

    source: str
    text: str


def _texts(facts: Facts) -> Iterable[tuple[str, str]]:
    drv = facts.driver
    if drv is not None:
        for t in drv.errors:
            yield "driver.errors", t
        for t in drv.kernel_log:
            yield "driver.kernel_log", t
        for key in ("nvml", "nvidia_smi"):
            sub = drv.extra.get(key)
            if isinstance(sub, dict) and isinstance(sub.get("error"), str):
                yield f"driver.{key}", sub["error"]
    fws = facts.frameworks
    for name in ("torch", "tensorflow"):
        fw = getattr(fws, name, None) if fws is not None else None
        if fw is not None:
            if fw.error:
                yield f"{name}.error", fw.error
            if isinstance(fw.extra.get("kernel_error"), str):
                yield f"{name}.error", fw.extra["kernel_error"]
            if fw.log:
                yield f"{name}.log", fw.log
    for i, log in enumerate(facts.logs):
        yield f"log:{log.source or i}", log.text


def _dll_style(version: str | None, *, split_minor: bool) -> str | None:
    """Windows TensorFlow reports DLL suffixes: cuda '64_112' -> '11.2', cudnn '64_8' -> '8'."""
    if not version or "." in version:
        return version
    m = re.fullmatch(r"(?:64_)?(\d+)", version.strip())
    if not m:
        return version
    digits = m.group(1)
    return f"{digits[:-1]}.{digits[-1]}" if split_minor and len(digits) >= 3 else digits


def _normalised(fw: Framework | None) -> Framework | None:
    if fw is None:
        return None
    cuda = _dll_style(fw.cuda, split_minor=True)
    cudnn = _dll_style(fw.cudnn, split_minor=False)
    if (cuda, cudnn) == (fw.cuda, fw.cudnn):
        return fw
    return dataclasses.replace(fw, cuda=cuda, cudnn=cudnn)


class Ctx:
    """A read-only view of one machine for the rules."""

    def __init__(self, facts: Facts, manifests: Manifests | None = None) -> None:
        self.facts = facts
        self.m = manifests

    # --- texts -----------------------------------------------------------------------------

    @cached_property
    def lines(self) -> tuple[Line, ...]:
        out: list[Line] = []
        for source, text in _texts(self.facts):
            for raw in split_lines(text):
                if raw.strip():
                    out.append(Line(source, raw.strip()))
        return tuple(out)

    @cached_property
    def unwrapped(self) -> tuple[tuple[str, Unwrapped], ...]:
        """Each evidence text, searchable across wrapped lines (nktenv.doctor.logmatch)."""
        return tuple((source, Unwrapped(text)) for source, text in _texts(self.facts))

    def grep(self, pattern: str | re.Pattern[str], *, sources: tuple[str, ...] | None = None) -> list[str]:
        """Matching lines, verbatim, de-duplicated in order. `sources` filters by source prefix.

        A message wrapped over several lines (console width, indentation, `\r\n`) matches too; its
        evidence is those lines re-joined."""
        rx = re.compile(pattern, re.IGNORECASE) if isinstance(pattern, str) else pattern
        seen: dict[str, None] = {}
        for line in self.lines:
            if sources and not line.source.startswith(sources):
                continue
            if rx.search(line.text):
                seen.setdefault(line.text, None)
        for source, text in self.unwrapped:
            if sources and not source.startswith(sources):
                continue
            for joined, _m in text.crossing(rx):
                # The joined message replaces its own first line, found alone above.
                head = next((k for k in seen if joined.startswith(k)), None)
                seen = {(joined if k == head else k): None for k in seen} if head else seen
                seen.setdefault(joined, None)
        return list(seen)

    def search(self, pattern: str) -> re.Match[str] | None:
        """First regex match in any evidence line, or across wrapped lines (for pulling values out of a message)."""
        rx = re.compile(pattern, re.IGNORECASE)
        for line in self.lines:
            m = rx.search(line.text)
            if m:
                return m
        for _source, text in self.unwrapped:
            for _joined, m in text.crossing(rx):
                return m
        return None

    # --- machine ---------------------------------------------------------------------------

    @property
    def system(self) -> str:
        return self.facts.os.system

    @property
    def wsl(self) -> bool:
        return bool(self.facts.os.wsl)

    @property
    def native_windows(self) -> bool:
        return self.system == "windows"

    @property
    def linux(self) -> bool:
        return self.system == "linux"

    @property
    def driver_os(self) -> str:
        """Which driver numbering applies: WSL runs on the Windows host driver."""
        return "windows" if self.native_windows or self.wsl else "linux"

    @property
    def driver_version(self) -> str | None:
        return self.facts.driver.version if self.facts.driver else None

    @property
    def driver_cuda(self) -> str | None:
        return self.facts.driver.cuda_version if self.facts.driver else None

    @property
    def nvidia_gpus(self) -> tuple[Gpu, ...]:
        return tuple(g for g in self.facts.gpus if g.vendor in (None, "nvidia") and (g.compute_capability or g.name))

    @property
    def has_nvidia(self) -> bool:
        return bool(self.nvidia_gpus) or bool(self.driver_version)

    # --- what the snapshot knows -----------------------------------------------------------
    # A snapshot may hold only part of a machine (an older nktenv, a hand-written file, a paste, a
    # probe that timed out). Unknown is not absent: rules claim "none" only where the probes looked.

    @cached_property
    def _pasted_unknown(self) -> frozenset[str]:
        pasted = self.facts.extra.get("pasted")
        listed = pasted.get("unknown") if isinstance(pasted, dict) else None
        return frozenset(str(b) for b in listed) if isinstance(listed, list) else frozenset()

    @cached_property
    def driver_state(self) -> str:
        """'present'; 'absent' (the probes ran and found no working driver); 'unknown' (no driver block,
        or one that records no look)."""
        drv = self.facts.driver
        if drv is None or "driver" in self._pasted_unknown:
            return "unknown"
        km = drv.kernel_module
        if drv.version or (km is not None and km.loaded):
            return "present"
        smi = drv.extra.get("nvidia_smi")
        if any(re.search(r"timed out|did not answer", str(e), re.I) for e in drv.errors) or (
                isinstance(smi, dict) and smi.get("timed_out")):
            return "unknown"  # a probe that hung learnt nothing: the driver may well be there
        looked = bool(drv.source or drv.errors or drv.kernel_log or drv.nouveau_loaded
                      or isinstance(drv.extra.get("nvml"), dict) or isinstance(drv.extra.get("nvidia_smi"), dict)
                      or (km is not None and km.loaded is False) or drv.device_nodes is False)
        return "absent" if looked else "unknown"

    @cached_property
    def unknown(self) -> tuple[str, ...]:
        """The blocks this snapshot does not hold: missing, null, or named by a paste as not pasted."""
        f = self.facts
        out: list[str] = []
        if self.system != "darwin":  # macOS has no NVIDIA driver: a null block there is knowledge
            if self.driver_state == "unknown":
                out.append("driver")
            # An empty list is "none" only when the probes looked and found no driver (then lspci lists what is on
            # the bus); a driver that answers with no GPU listed means the listing failed or is missing.
            if not f.gpus and (self.driver_state != "absent" or "gpus" in self._pasted_unknown):
                out.append("gpus")
        if f.frameworks is None:
            out.append("frameworks")
        if f.python is None:
            out.append("python")
        if f.env is None:
            out.append("env")
        if self.native_windows and f.windows is None:
            out.append("windows")
        out += sorted(b for b in self._pasted_unknown if b not in out)
        return tuple(out)

    @property
    def gpus_unknown(self) -> bool:
        """No NVIDIA GPU or driver is known, but nothing says there is none either."""
        return not self.has_nvidia and "gpus" in self.unknown

    def framework_unknown(self, name: str) -> bool:
        """True when the snapshot does not say whether `name` is installed (null there means "not installed")."""
        fws = self.facts.frameworks
        if fws is None:
            return True
        listed = fws.extra.get("not_pasted")
        return isinstance(listed, list) and name in listed

    def not_known(self, block: str) -> str:
        """The evidence line that says a block is unknown (never that it is absent)."""
        return _("{block}: not in the snapshot (unknown)").format(block=block)

    @cached_property
    def torch(self) -> Framework | None:
        return _normalised(self.facts.frameworks.torch if self.facts.frameworks else None)

    @cached_property
    def tf(self) -> Framework | None:
        return _normalised(self.facts.frameworks.tensorflow if self.facts.frameworks else None)

    @cached_property
    def packages(self) -> dict[str, str]:
        """Installed distributions the probes reported, lower-case name -> version."""
        out: dict[str, str] = {}
        py = self.facts.python
        if py is not None and isinstance(py.extra.get("packages"), dict):
            out.update({str(k).lower(): str(v) for k, v in py.extra["packages"].items()})
        for fw in (self.torch, self.tf):
            if fw is not None and fw.packages:
                out.update({str(k).lower(): str(v) for k, v in fw.packages.items()})
        return out

    def driver_extra(self, key: str) -> dict[str, Any]:
        drv = self.facts.driver
        value = drv.extra.get(key) if drv is not None else None
        return value if isinstance(value, dict) else {}

    def env(self, name: str) -> str | None:
        return self.facts.getenv(name)

    @property
    def python_version(self) -> str | None:
        return self.facts.python.version if self.facts.python else None

    @property
    def python_exe(self) -> str:
        """The target interpreter as a user would type it in a fix."""
        exe = self.facts.python.executable if self.facts.python else None
        if not exe:
            return "python"
        return f'"{exe}"' if " " in exe else exe

    def pip(self) -> str:
        return f"{self.python_exe} -m pip"


def finding(
    code: str,
    severity: str,
    title: str,
    *,
    fix: str | None = None,
    evidence: Iterable[str] = (),
    why: str | None = None,
    **data: Any,
) -> Finding:
    ev = tuple(dict.fromkeys(str(e) for e in evidence if e))
    return Finding(code=code, severity=severity, title=title, fix=fix, evidence=ev, why=why, data=dict(data))


def base_version(version: str | None) -> str | None:
    """'2.1.0+cu118' -> '2.1.0'."""
    if not version:
        return None
    return version.split("+", 1)[0]


def local_tag(version: str | None) -> str | None:
    """'2.1.0+cu118' -> 'cu118'."""
    if not version or "+" not in version:
        return None
    return version.split("+", 1)[1]


def vtuple(text: str | None) -> tuple[int, ...]:
    """Numeric parts of a version: '550.54.15' -> (550, 54, 15); '12.1' -> (12, 1); unknown -> ()."""
    if not text:
        return ()
    return tuple(int(p) for p in re.findall(r"\d+", str(text).split("+", 1)[0]))


def parse_arch_list(arch_list: Iterable[str]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """['sm_50', 'sm_86', 'compute_90'] -> (sass ccs, ptx ccs). 'sm_90a' counts as 9.0 specific."""
    sass: list[tuple[int, int]] = []
    ptx: list[tuple[int, int]] = []
    for item in arch_list:
        m = re.fullmatch(r"(sm|compute)_(\d+?)(\d)[a-z]?", item.strip())
        if not m:
            continue
        cc = (int(m.group(2)), int(m.group(3)))
        (sass if m.group(1) == "sm" else ptx).append(cc)
    return sass, ptx


def covers(cc: tuple[int, int], sass: Iterable[tuple[int, int]], ptx: Iterable[tuple[int, int]]) -> bool:
    """NVIDIA's rule: a cubin for X.y runs on X.z (z >= y); PTX for X.Y JITs on any CC >= X.Y."""
    return any(s[0] == cc[0] and s[1] <= cc[1] for s in sass) or any(p <= cc for p in ptx)


def cc_text(cc: tuple[int, int]) -> str:
    return f"{cc[0]}.{cc[1]}"


def py_range(spec: str) -> str:
    """'>=3.9,<3.13' -> '3.9–3.12' for people; other specifiers unchanged."""
    lo = re.search(r">=\s*(\d+\.\d+)", spec)
    hi = re.search(r"<\s*(\d+)\.(\d+)", spec)
    if lo and hi and int(hi.group(2)) > 0:
        # A msgid, because the en dash is not in cp932: Japanese writes the range with "～".
        return _("{low}–{high}").format(low=lo.group(1), high=f"{hi.group(1)}.{int(hi.group(2)) - 1}")
    return spec
