"""What a plan is: the builds it picks, its findings, and the `nktenv.plan/1` document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nktenv.findings import Finding
from nktenv.manifest import TorchRelease

SCHEMA_ID = "nktenv.plan/1"

# Finding codes a failed request carries (the `nktenv.plan/1` contract).
FAILURE_CODES = (
    "python_version_unsupported",
    "variant_not_published",
    "no_wheel_for_platform",
    "gpu_arch_unsupported_by_requested_version",
    "mixed_arch_unsatisfiable",
    "driver_too_old",
    "no_compatible_variant",
)


@dataclass(frozen=True)
class FrameworkPlan:
    version: str
    variant: str | None
    index_url: str | None  # None = the default index (PyPI)
    requirements: tuple[str, ...]
    reasons: tuple[str, ...]
    gpu: bool
    extra_index_urls: tuple[str, ...] = ()
    cuda: str | None = None  # CUDA the build brings (torch) or needs (TensorFlow)

    def pip_command(self, python: str = "python") -> list[str]:
        """The exact argv that installs this plan."""
        argv = [python, "-m", "pip", "install", *self.requirements]
        if self.index_url:
            argv += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            argv += ["--extra-index-url", url]
        return argv

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "variant": self.variant,
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
            "requirements": list(self.requirements),
            "gpu": self.gpu,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Plan:
    ok: bool
    python: str | None
    torch: FrameworkPlan | None
    tensorflow: FrameworkPlan | None
    findings: tuple[Finding, ...] = ()

    @property
    def separate_venvs(self) -> bool:
        """PyTorch and TensorFlow must go into separate venvs (their CUDA libraries conflict)."""
        return any(f.code == "separate_venvs" for f in self.findings)

    def finding(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_ID,
            "ok": self.ok,
            "python": self.python,
            "torch": self.torch.to_dict() if self.torch else None,
            "tensorflow": self.tensorflow.to_dict() if self.tensorflow else None,
            "findings": [
                {"code": f.code, "severity": f.severity, "title": f.title, "fix": f.fix}
                for f in self.findings
            ],
        }


def _requirements(rel: TorchRelease) -> tuple[str, ...]:
    # torchvision pins its torch exactly, so where the pairing is not in the manifest pip finds it.
    # torchaudio comes along only where torch.toml pairs it: the torch index carries that build, so the
    # one --index-url serves all three and no other index can slip a mismatched build in.
    reqs = (f"torch=={rel.version}", f"torchvision=={rel.torchvision}" if rel.torchvision else "torchvision")
    return reqs + ((f"torchaudio=={rel.torchaudio}",) if rel.torchaudio else ())


def _fail(code: str, title: str, fix: str | None = None, severity: str = "error") -> Finding:
    return Finding(code, severity, title, fix=fix)
