"""Exact driver instructions for this OS. nktenv never installs drivers or toolkits itself. Pure."""

from __future__ import annotations

from typing import Any, Iterable

from nktenv.i18n import _


def needs_driver_change(findings: Iterable[Any]) -> str | None:
    """The driver version a blocking finding asks for ('' when it names none); None when no driver change is needed."""
    for f in findings:
        code = str(getattr(f, "code", ""))
        if getattr(f, "severity", "") == "error" and "driver" in code:
            data = getattr(f, "data", {}) or {}
            return str(data.get("min_driver") or data.get("required_driver") or data.get("driver_floor") or "")
    return None


def instructions(system: str, *, wsl: bool = False, min_driver: str | None = None, distro: str | None = None) -> list[str]:
    """Steps a person runs to get a suitable NVIDIA driver on this OS (texts for people)."""
    need = min_driver or _("the version the plan asks for")
    if wsl:
        return [
            _("Inside WSL2 the GPU driver is the Windows one: do not install a Linux NVIDIA driver in WSL."),
            _("In Windows, install NVIDIA driver {version} or newer from https://www.nvidia.com/Download/index.aspx (or the NVIDIA App), then reboot.").format(version=need),
            _("Then, in WSL, check with: nvidia-smi"),
        ]
    if system == "windows":
        return [
            _("Install NVIDIA driver {version} or newer from https://www.nvidia.com/Download/index.aspx (or the NVIDIA App): choose your GPU, Windows 11/10 64-bit, then run the installer and reboot.").format(version=need),
            _("Check it in PowerShell with: nvidia-smi"),
            _("For TensorFlow on the GPU use WSL2 (native Windows stopped at TensorFlow 2.10): in an administrator PowerShell run wsl --install -d Ubuntu-22.04, reboot, and run nktenv setup inside Ubuntu."),
        ]
    if system == "linux":
        lines = []
        if (distro or "").lower().startswith("ubuntu"):
            lines.append(_("Ubuntu: run sudo ubuntu-drivers list, then sudo ubuntu-drivers install (or sudo apt install nvidia-driver-XXX for a driver {version} or newer), then reboot.").format(version=need))
        else:
            lines.append(_("Install NVIDIA driver {version} or newer with your distribution's packages (see https://docs.nvidia.com/datacenter/tesla/driver-installation-guide/), then reboot.").format(version=need))
        lines.append(_("With Secure Boot on, enroll the module signing key when the installer asks (MOK), or the driver will not load."))
        lines.append(_("Check it with: nvidia-smi"))
        return lines
    return [_("Install NVIDIA driver {version} or newer for this system, then check it with nvidia-smi.").format(version=need)]
