"""Moved to `nktenv.plan.vendors`; this name stays for the modules that import it."""

from nktenv.plan.vendors import (  # noqa: F401
    HSA_OVERRIDE,
    GpuBuild,
    VendorChoice,
    choose_vendor,
    explicit_check,
    gfx_from_override,
    override_version,
    rocm_build,
    sibling_target,
    xpu_build,
)
