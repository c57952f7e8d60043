"""`nktenv manifests check|refresh`: validate the version manifests, and update them from an index."""

from __future__ import annotations

from typing import Annotated

import typer

from nktenv.cli._common import JsonOpt

app = typer.Typer(help="Check and refresh the version manifests.", no_args_is_help=True)


@app.command("check")
def check(json_: JsonOpt = False) -> None:
    """Validate every manifest file (unknown keys, bad versions, variants without a driver floor)."""
    from nktenv.i18n import _
    from nktenv.wording import join_list
    from nktenv.manifest import load
    from nktenv.output import emit_json, out_console

    m = load()
    summary = {
        "schema": "nktenv.manifests-check/1",
        "ok": True,
        "folder": m.folder,
        "counts": {
            "cuda": len(m.cuda),
            "torch_releases": len(m.torch),
            "torch_builds": sum(len(r.variants) for r in m.torch),
            "tensorflow_releases": len(m.tensorflow),
            "gpu_archs": len(m.gpu_archs),
        },
        "newest": {
            "torch": m.torch[0].version if m.torch else None,
            "tensorflow": m.tensorflow[0].version if m.tensorflow else None,
        },
        "unverified_archs": [
            f"{r.version}+{v.name}" for r in m.torch for v in r.variants if v.is_cuda and not v.archs_known
        ],
    }
    if json_:
        emit_json(summary)
        return
    con = out_console()
    c = summary["counts"]
    con.print(_("Manifests in {folder} are valid.").format(folder=m.folder), markup=False, highlight=False)
    con.print(
        _(
            "{cuda} CUDA versions, {releases} torch releases ({builds} builds, newest {torch}), {tf} TensorFlow releases (newest {newest_tf}), {archs} GPU generations."
        ).format(
            cuda=c["cuda"],
            releases=c["torch_releases"],
            builds=c["torch_builds"],
            torch=summary["newest"]["torch"],
            tf=c["tensorflow_releases"],
            newest_tf=summary["newest"]["tensorflow"],
            archs=c["gpu_archs"],
        ),
        markup=False,
        highlight=False,
    )
    if summary["unverified_archs"]:
        con.print(
            _("GPU code not established (never chosen automatically): {builds}").format(
                builds=join_list(summary["unverified_archs"])
            ),
            markup=False,
            highlight=False,
        )


@app.command("refresh")
def refresh(
    json_: JsonOpt = False,
    index_url: Annotated[
        str, typer.Option("--index-url", metavar="<url>", help="Simple index root (PEP 503 / PEP 691), e.g. a lab mirror.")
    ] = "https://download.pytorch.org/whl",
    write: Annotated[
        bool, typer.Option("--write", help="Add what the manifest lacks to torch.toml.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="<seconds>", help="Seconds to wait for the index.", min=1.0)
    ] = 30.0,
) -> None:
    """List the torch releases and variants an index has that the manifest lacks (and add them with --write)."""
    import datetime
    from pathlib import Path

    from nktenv.i18n import _
    from nktenv.wording import join_list
    from nktenv.manifest import load, manifests_dir
    from nktenv.output import emit_json, err_console, human_console
    from nktenv.refresh import compare, scan, write_missing

    manifests = load()
    with err_console().status(_("Reading {url} ...").format(url=index_url), spinner="dots"):
        wheels = scan(index_url, timeout=timeout)
    report = compare(wheels, manifests, index_url)
    if write:
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        report = write_missing(report, Path(manifests.folder or manifests_dir()), today)
    if json_:
        emit_json(report.to_dict())
        return
    con = human_console(False)
    con.print(
        _("{index}: {count} torch releases listed.").format(index=index_url, count=len(report.releases_seen)),
        markup=False,
        highlight=False,
    )
    if report.up_to_date:
        con.print(
            _("The manifest lists every release and variant the index has."), markup=False, highlight=False
        )
        return
    if report.missing_releases:
        con.print(
            _("Releases missing from the manifest: {items}").format(items=join_list(report.missing_releases)),
            markup=False,
            highlight=False,
        )
    for m in report.missing_variants:
        con.print(
            _("  {release} + {variant}: not in the manifest ({platforms})").format(
                release=m.release, variant=m.variant, platforms=join_list(m.platforms)
            ),
            markup=False,
            highlight=False,
        )
    for m in report.missing_platforms:
        con.print(
            _("  {release} + {variant}: also published for {platforms} (edit torch.toml by hand)").format(
                release=m.release, variant=m.variant, platforms=join_list(m.platforms)
            ),
            markup=False,
            highlight=False,
        )
    if report.needs_cuda:
        con.print(
            _(
                "CUDA versions without driver floors in cuda.toml (their variants are not written): {items}"
            ).format(items=join_list(report.needs_cuda)),
            markup=False,
            highlight=False,
        )
    if report.written:
        con.print(
            _("Added to {file}; the GPU code of new CUDA variants is marked unknown until filled in.").format(
                file=report.file
            ),
            markup=False,
            highlight=False,
        )
    elif not write:
        con.print(_("Run again with --write to add them."), markup=False, highlight=False)
