"""Each command run for real in Japanese: human output in Japanese, --json the same as in English.

detect replays recorded machines, setup plans from a lock (dry run) or refuses bad input, bench
runs a stand-in interpreter that replays a check script's events, and manifests refresh reads
the recorded index pages in tests/manifests/data from 127.0.0.1. Nothing touches this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.i18n.conftest import JAPANESE

TESTS = REPO / "tests"
for folder in ("bench", "setup"):  # their helpers are plain modules, as in tests/cli
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))

from bench_fakes import fake_interpreter, hello, row  # noqa: E402
from wheels import offline_lock  # noqa: E402

MACHINES = sorted(p.parent.name for p in (TESTS / "machines").glob("*/machine.json"))
# Fields written for people: the only ones --lang may change in a JSON document.
HUMAN = {"title", "fix", "why", "evidence", "message", "hint", "summary", "reason", "reasons", "detail",
         "note", "notes", "text"}
posix_only = pytest.mark.skipif(os.name == "nt", reason="stand-in interpreters are POSIX scripts")


def _neutral(document, drop=frozenset()):
    if isinstance(document, dict):
        return {k: _neutral(v, drop) for k, v in document.items() if k not in HUMAN | drop}
    if isinstance(document, list):
        return [_neutral(v, drop) for v in document]
    return document


def _both(runner, app, args: list[str], **kwargs):
    """The same command in English and in Japanese."""
    english = runner.invoke(app, ["--lang", "en", *args], **kwargs)
    japanese = runner.invoke(app, ["--lang", "ja", *args], **kwargs)
    return english, japanese


def _json_pair(runner, app, args: list[str], **kwargs) -> tuple[dict, dict]:
    english, japanese = _both(runner, app, [*args, "--json"], **kwargs)
    assert english.exit_code == japanese.exit_code, japanese.output
    return json.loads(english.stdout), json.loads(japanese.stdout)


# --- detect -------------------------------------------------------------------------------------


@pytest.mark.skipif(not MACHINES, reason="no recorded machines")
@pytest.mark.parametrize("machine", MACHINES)
def test_detect_table_in_japanese(runner, app, ja, machine: str) -> None:
    replay = str(TESTS / "machines" / machine)
    english = runner.invoke(app, ["--lang", "en", "detect", "--replay", replay])
    human = ja.invoke(["detect", "--replay", replay])
    assert human.exit_code == english.exit_code == 0, human.output
    assert "Traceback" not in human.output
    labels = _labels(human.stdout)
    assert "NVIDIA ドライバ" in labels, human.stdout
    assert "NVIDIA driver" in _labels(english.stdout) and "NVIDIA driver" not in labels
    ja.assert_translated(human.stdout + human.stderr)


def _labels(table: str) -> list[str]:
    """The left column of the detect table (the right one may quote a tool's English verbatim)."""
    return [line.split("  ")[0] for line in table.splitlines() if line.strip() and not line.startswith(" ")]


def test_detect_framework_row_is_a_japanese_list(runner, app, ja) -> None:
    replay = str(TESTS / "machines" / "win11-rtx4090-cuda118-cudnn89")
    english = runner.invoke(app, ["--lang", "en", "detect", "--replay", replay]).stdout
    japanese = ja.invoke(["detect", "--replay", replay]).stdout
    assert "2.10.1, CUDA 11.2, no GPU visible" in english
    # Japanese lists take "、", not an English comma glued between Japanese phrases.
    assert "2.10.1、CUDA 11.2、GPU が見えていません" in japanese
    assert "2.1.2+cu118、CUDA 11.8、GPU で動作します" in japanese
    assert "長いパス" in japanese and "いいえ" in japanese


# --- setup --------------------------------------------------------------------------------------


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    return offline_lock(tmp_path)


def test_setup_dry_run_in_japanese(runner, app, ja, lock: Path, tmp_path: Path) -> None:
    target = tmp_path / "藤澤 env"
    args = ["setup", "--from-lock", str(lock), "--venv", str(target), "--dry-run", "--installer", "pip"]
    human = ja.invoke(args)
    assert human.exit_code == 0, human.output
    out = human.stdout
    assert f"環境: {target}" in out
    assert "GPU の使用: いいえ(CPU ビルド)" in out and "インストーラ: pip(--installer で指定)" in out
    assert "コマンド:" in out and "ドライラン: 何も変更していません。" in out
    assert "Dry run" not in out and "Commands:" not in out
    # Commands and paths stay as they are.
    assert "-m venv" in out and "nkt-dep==1.0" in out
    ja.assert_translated(out + human.stderr)
    assert not target.exists()

    en_doc, ja_doc = _json_pair(runner, app, args)
    assert en_doc == ja_doc  # a dry run has no human text in its JSON at all
    assert en_doc["status"] == "planned"


def test_setup_refuses_a_foreign_folder_in_japanese(runner, app, ja, lock: Path, tmp_path: Path) -> None:
    target = tmp_path / "thesis"
    target.mkdir()
    (target / "results.csv").write_text("keep me", encoding="utf-8")
    args = ["setup", "--from-lock", str(lock), "--venv", str(target), "--yes"]
    human = ja.invoke(args)
    assert human.exit_code == 2
    first = human.stderr.splitlines()[0]
    assert first == f"エラー: {target} はすでに存在し、nktenv が作ったものではありません。置き換えは行いません。"
    assert "Traceback" not in human.output and human.stderr.count("\n") <= 3
    ja.assert_translated(human.stderr)
    assert (target / "results.csv").read_text(encoding="utf-8") == "keep me"

    en_doc, ja_doc = _json_pair(runner, app, args)
    assert _neutral(en_doc) == _neutral(ja_doc)
    assert ja_doc["error"]["code"] == en_doc["error"]["code"]
    assert JAPANESE.search(ja_doc["error"]["message"]) and not JAPANESE.search(en_doc["error"]["message"])


def test_setup_list_in_japanese(runner, app, ja, tmp_path: Path) -> None:
    from nktenv.setup import registry

    registry.remember(registry.Environment(path=str(tmp_path / "gone"), python=str(tmp_path / "gone" / "python"),
                                           torch="2.13.0"))
    human = ja.invoke(["setup", "--list"])
    assert human.exit_code == 0, human.output
    assert "2.13.0" in human.stdout and "(削除済み)" in human.stdout
    ja.assert_translated(human.stdout)
    en_doc, ja_doc = _json_pair(runner, app, ["setup", "--list"])
    assert en_doc == ja_doc


# --- bench --------------------------------------------------------------------------------------

CPU_BLOCKS = [1000.0 + i for i in range(10)]


def _bench_events(gpu_factor: float) -> list[dict]:
    return [
        hello("torch", ["cpu", "cuda:0"]),
        {"event": "plan", "framework": "torch",
         "rows": [{"model": "cnn", "pipeline": "resident", "device": d} for d in ("cpu", "cuda:0")]},
        {"event": "progress", "framework": "torch", "stage": "row", "model": "cnn", "pipeline": "resident",
         "done": 0, "total": 2},
        {"event": "row", "row": row("torch", "cnn", "resident", "cpu", CPU_BLOCKS)},
        {"event": "row", "row": row("torch", "cnn", "resident", "cuda:0", [b * gpu_factor for b in CPU_BLOCKS])},
    ]


@pytest.fixture
def no_real_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    import nktenv.bench as bench
    import nktenv.bench.telemetry as telemetry

    monkeypatch.setattr(telemetry, "load_nvml", lambda: None)
    monkeypatch.setattr(bench, "machine_info", lambda python=None, with_facts=True: {"name": "lab-pc-01", "facts": None})


def _differing_paths(a, b, path=()) -> set[tuple]:
    """Where two JSON documents differ (key paths; list indices included)."""
    if isinstance(a, dict) and isinstance(b, dict):
        found: set[tuple] = set()
        for key in a.keys() | b.keys():
            found |= _differing_paths(a.get(key), b.get(key), (*path, key))
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        found = set()
        for i, (x, y) in enumerate(zip(a, b)):
            found |= _differing_paths(x, y, (*path, i))
        return found
    return set() if a == b else {path}


@posix_only
@pytest.mark.parametrize(("factor", "code", "verdict"), [
    (40.0, 0, "合格"),
    (2.0, 1, "不合格"),
])
def test_bench_in_japanese(runner, app, ja, no_real_machine, tmp_path: Path, factor: float, code: int,
                           verdict: str) -> None:
    python = fake_interpreter(tmp_path, _bench_events(factor))
    args = ["bench", "--python", str(python), "--framework", "torch", "--model", "cnn", "--quick",
            "--threshold", "10", "--no-store"]
    human = ja.invoke(args)
    assert human.exit_code == code, human.output
    out = human.stdout
    assert "訓練のスループット" in out and "Training throughput" not in out
    assert f"torch {verdict}: " in out
    if code == 0:
        assert "GPU で CNN が 40 倍速くなります(95% 信頼区間" in out
    else:
        assert "しきい値の 10.0 倍を下回っています" in out and "below the" not in out
    ja.assert_translated(out + human.stderr)

    # JSON: the same data in both languages. Two English runs show what differs from run to run
    # (ids, clocks, timings of the stand-in); Japanese may differ from English only there and in texts.
    english, again = (runner.invoke(app, ["--lang", "en", *args, "--json"]) for _ in range(2))
    japanese = runner.invoke(app, ["--lang", "ja", *args, "--json"])
    assert english.exit_code == again.exit_code == japanese.exit_code == code
    en_doc, en_again, ja_doc = (json.loads(r.stdout) for r in (english, again, japanese))
    volatile = _differing_paths(en_doc, en_again) | {("id",), ("created_at",)}  # clock: may tick between runs
    changed = _differing_paths(_neutral(en_doc), _neutral(ja_doc))
    assert changed <= volatile, changed - volatile
    assert ja_doc["verdicts"][0]["passed"] is en_doc["verdicts"][0]["passed"] is (code == 0)
    assert JAPANESE.search(ja_doc["verdicts"][0]["text"]) and not JAPANESE.search(en_doc["verdicts"][0]["text"])


@posix_only
def test_recorded_english_result_renders_its_verdict_in_japanese(runner, app, no_real_machine,
                                                                 tmp_path: Path) -> None:
    from rich.console import Console

    from nktenv import i18n
    from nktenv.bench.render import render

    python = fake_interpreter(tmp_path, _bench_events(2.0))
    result = runner.invoke(app, ["--lang", "en", "bench", "--python", str(python), "--framework", "torch",
                                 "--quick", "--threshold", "10", "--no-store", "--json"])
    document = json.loads(result.stdout)
    assert "below the 10.0x threshold" in document["verdicts"][0]["text"]  # recorded in English

    console = Console(record=True, width=200, color_system=None)
    with i18n.use_language("ja"):
        render(document, console)
    text = console.export_text()
    assert "torch 不合格: GPU による CNN の高速化は 2.0 倍" in text
    assert "しきい値の 10.0 倍を下回っています" in text
    assert "GPU accelerates" not in text


def test_bench_bad_option_in_japanese(runner, app, ja) -> None:
    human = ja.invoke(["bench", "--device", "gpu0"])
    assert human.exit_code == 2
    assert human.stderr.splitlines()[0] == (
        "エラー: --device には cpu、cuda:N、all のいずれかを指定してください(指定された値: 'gpu0')")
    assert "Traceback" not in human.output
    en_doc, ja_doc = _json_pair(runner, app, ["bench", "--device", "gpu0"])
    assert _neutral(en_doc) == _neutral(ja_doc)


# --- manifests ----------------------------------------------------------------------------------


def test_manifests_check_in_japanese(runner, app, ja) -> None:
    human = ja.invoke(["manifests", "check"])
    assert human.exit_code == 0, human.output
    assert "のマニフェストは正常です。" in human.stdout
    assert "CUDA のバージョン" in human.stdout and "torch のリリース" in human.stdout
    ja.assert_translated(human.stdout)
    en_doc, ja_doc = _json_pair(runner, app, ["manifests", "check"])
    assert en_doc == ja_doc


@pytest.fixture(scope="module")
def index_server():
    """The recorded index pages of tests/manifests/data, as HTML, on 127.0.0.1."""
    handler = partial(_QuietHandler, directory=str(TESTS / "manifests" / "data"))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def manifests_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from nktenv import manifest

    folder = tmp_path / "manifests"
    folder.mkdir()
    for name in manifest.FILES:
        shutil.copyfile(REPO / "manifests" / name, folder / name)
    monkeypatch.setenv("NKTENV_MANIFESTS_DIR", str(folder))
    manifest.clear_cache()
    yield folder
    manifest.clear_cache()


def test_manifests_refresh_in_japanese(runner, app, ja, index_server: str, manifests_copy: Path) -> None:
    url = f"{index_server}/index-html"
    before = (manifests_copy / "torch.toml").read_bytes()
    human = ja.invoke(["manifests", "refresh", "--index-url", url])
    assert human.exit_code == 0, human.output
    out = human.stdout
    assert f"{url}: torch のリリースが" in out
    assert "マニフェストにないリリース: 2.16.0" in out
    assert "cuda.toml にドライバの下限がない CUDA のバージョン" in out and "13.5" in out
    assert "追加するには --write を付けてもう一度実行してください。" in out
    ja.assert_translated(out + human.stderr)
    assert (manifests_copy / "torch.toml").read_bytes() == before

    en_doc, ja_doc = _json_pair(runner, app, ["manifests", "refresh", "--index-url", url])
    assert en_doc == ja_doc


def test_manifests_refresh_write_in_japanese(ja, index_server: str, manifests_copy: Path) -> None:
    human = ja.invoke(["manifests", "refresh", "--index-url", f"{index_server}/index-html", "--write"])
    assert human.exit_code == 0, human.output
    assert f"{manifests_copy / 'torch.toml'} に追加しました。" in human.stdout
    assert "2.16.0" in (manifests_copy / "torch.toml").read_text(encoding="utf-8")
    ja.assert_translated(human.stdout)


def test_manifests_refresh_unreachable_index_in_japanese(ja) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    human = ja.invoke(["manifests", "refresh", "--index-url", f"http://127.0.0.1:{port}/whl", "--timeout", "5"])
    assert human.exit_code == 5
    assert human.stderr.startswith("エラー: ") and "Traceback" not in human.output
    ja.assert_translated(human.stderr)
