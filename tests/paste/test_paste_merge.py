"""Several pastes from one machine merge into one snapshot; every entry says where it came from."""

from __future__ import annotations

from nktenv.doctor import diagnose
from nktenv.facts import validate
from nktenv.manifest import load
from nktenv.paste import facts_from_pastes
from tests.paste.samples import SAMPLES


def text(rel: str) -> tuple[str, str]:
    p = SAMPLES / rel
    return p.name, p.read_text(encoding="utf-8")


TABLE = "nvidia-smi/windows-geforce-rtx-2080-super-610.62-load.txt"
LIST = "nvidia-smi-L/windows-geforce-rtx-2080-super-610.62.txt"
QUERY = "nvidia-smi-q/windows-geforce-rtx-2080-super-610.62.txt"


def test_table_and_list_of_one_machine_merge_into_one_gpu_with_its_full_name() -> None:
    facts = facts_from_pastes([text(TABLE), text(LIST)])
    assert len(facts.gpus) == 1
    gpu = facts.gpus[0]
    assert gpu.name == "NVIDIA GeForce RTX 2080 SUPER"  # the table cut it to "NVIDIA GeForce RTX 2080 ..."
    assert "name_truncated" not in gpu.extra
    assert gpu.extra["source"] == "pasted:nvidia-smi" and gpu.extra["also_from"] == ["pasted:nvidia-smi-L"]
    assert gpu.driver_model == "WDDM" and len(gpu.processes) == 21


def test_provenance_on_every_block() -> None:
    facts = facts_from_pastes([text(TABLE), text("nvcc/windows-cuda-10.2.txt"),
                               text("conda-list/windows-tf14-cudatoolkit8.txt")])
    doc = facts.to_dict()
    assert validate(doc) is None
    assert doc["driver"]["provenance"] == "pasted:nvidia-smi" and doc["driver"]["source"] == "nvidia-smi"
    assert [t["source"] for t in doc["cuda_toolkits"]] == ["pasted:nvcc", "pasted:conda-list"]
    assert doc["cudnn"][0]["provenance"] == "pasted:conda-list" and doc["cudnn"][0]["source"] == "conda"
    assert [f["kinds"] for f in doc["pasted"]["files"]] == [["nvidia-smi"], ["nvcc"], ["conda-list"]]


def test_a_second_paste_that_disagrees_is_recorded_not_dropped() -> None:
    facts = facts_from_pastes([text(TABLE), text(QUERY), text("collect_env/windows-2023-gtx1050ti-wmic.txt")])
    conflicts = facts.extra["pasted"]["conflicts"]
    assert {"field": "driver.version", "kept": "610.62", "other": "535.98", "from": "pasted:collect_env"} in conflicts
    names = [g.name for g in facts.gpus]
    assert names == ["NVIDIA GeForce RTX 2080 SUPER", "NVIDIA GeForce GTX 1050 Ti"]  # two GPUs, not one merged


def test_unknown_stays_unknown() -> None:
    facts = facts_from_pastes([text("nvcc/linux-cuda-11.1.txt")])
    assert facts.driver is None and facts.gpus == () and facts.frameworks is None and facts.env is None
    assert facts.os.extra["system_source"] == "assumed"
    assert facts.extra["pasted"]["unknown"] == ["driver", "gpus", "cudnn", "python", "frameworks", "env", "cpu",
                                                "memory", "windows"]


def test_detect_shows_unknown_for_what_no_paste_said(runner, app) -> None:
    result = runner.invoke(app, ["detect", "--from", str(SAMPLES / "nvcc" / "linux-cuda-11.1.txt")],
                           catch_exceptions=False)
    rows = {ln.split("  ")[0]: ln for ln in result.stdout.splitlines()}
    assert "unknown" in rows["NVIDIA driver"] and "unknown" in rows["GPUs"]
    assert "11.1" in rows["CUDA toolkit"]


def test_lines_no_parser_read_stay_evidence_for_the_rules() -> None:
    facts = facts_from_pastes([text("torch-print/linux-cu102-version-print.txt")])
    assert len(facts.logs) == 1 and facts.logs[0].source == "pasted:linux-cu102-version-print.txt"
    assert "install : pip install torch==1.8.1+cu102" in facts.logs[0].text


def test_sm120_warning_alone_is_enough_for_the_arch_finding() -> None:
    facts = facts_from_pastes([text("traceback/windows-rtx5090-sm120-warning.txt")])
    codes = [f.code for f in diagnose(facts, load()) if f.severity != "info"]
    assert codes == ["arch_unsupported"]


def test_env_lines_are_read_for_known_variables_only() -> None:
    facts = facts_from_pastes([("env.txt", "CUDA_VISIBLE_DEVICES=1\nexport LD_LIBRARY_PATH=/usr/local/cuda/lib64\n"
                                           "MY_SECRET=x\n")])
    assert facts.env == {"CUDA_VISIBLE_DEVICES": "1", "LD_LIBRARY_PATH": "/usr/local/cuda/lib64"}
    assert facts.logs[0].text == "MY_SECRET=x"


def test_nvml_mismatch_paste_gives_the_rule_both_versions() -> None:
    facts = facts_from_pastes([text("nvidia-smi-error/truenas-nvml-mismatch-with-proc-version.txt")])
    findings = [f for f in diagnose(facts, load()) if f.severity != "info"]
    assert [f.code for f in findings] == ["nvml_version_mismatch"]
    assert any("Failed to initialize NVML: Driver/library version mismatch" in e for e in findings[0].evidence)


def test_a_framework_no_paste_mentions_is_unknown_not_uninstalled(runner, app) -> None:
    facts = facts_from_pastes([text("tf-devices/windows-tf210-gpu-listed.txt")])
    assert facts.frameworks.torch is None and facts.frameworks.extra["not_pasted"] == ["torch"]
    result = runner.invoke(app, ["detect", "--from", str(SAMPLES / "tf-devices" / "windows-tf210-gpu-listed.txt")],
                           catch_exceptions=False)
    row = next(ln for ln in result.stdout.splitlines() if ln.startswith("torch"))
    assert "unknown" in row and "not installed" not in row


def test_query_csv_adds_the_compute_capability_the_table_lacks() -> None:
    facts = facts_from_pastes([text(TABLE), text("nvidia-smi-csv/windows-geforce-rtx-2080-super-610.62-query-gpu.txt")])
    assert len(facts.gpus) == 1
    assert facts.gpus[0].compute_capability == "7.5" and facts.gpus[0].name == "NVIDIA GeForce RTX 2080 SUPER"
    assert len(facts.gpus[0].processes) == 21  # the table's list, the CSV had none
