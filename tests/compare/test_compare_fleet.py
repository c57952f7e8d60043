"""The fleet playbook (deploy/ansible) run for real against this machine as a one-host lab."""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from compare_fleet import lab_fleet

yaml = pytest.importorskip("yaml")  # PyYAML comes with ansible-core

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "deploy" / "ansible"


def _playbook_command() -> str | None:
    found = shutil.which("ansible-playbook")
    beside = Path(sys.executable).parent / "ansible-playbook"
    return found or (str(beside) if beside.exists() else None)


PLAYBOOK = _playbook_command()
needs_ansible = pytest.mark.skipif(PLAYBOOK is None, reason="ansible-core is not installed")


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"), "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
                "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1"})
    return env


@needs_ansible
def test_playbook_syntax_and_example_inventory(tmp_path: Path) -> None:
    out = subprocess.run([PLAYBOOK, "--syntax-check", "-i", str(ANSIBLE / "inventory.example.yml"),
                          str(ANSIBLE / "fleet.yml")], capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    inventory = yaml.safe_load((ANSIBLE / "inventory.example.yml").read_text(encoding="utf-8"))
    groups = inventory["lab"]["children"]
    assert groups["windows"]["children"]["windows_winrm"]["vars"]["ansible_connection"] == "winrm"
    assert groups["windows"]["children"]["windows_ssh"]["vars"]["ansible_shell_type"] == "powershell"


def test_windows_tasks_use_only_windows_capable_modules() -> None:
    # Linux modules (command, file, find) would fail on a PowerShell host; catch that without a Windows host.
    tasks = yaml.safe_load((ANSIBLE / "roles" / "nktenv_host" / "tasks" / "windows.yml").read_text(encoding="utf-8"))
    allowed = {"ansible.builtin.debug", "ansible.builtin.fetch", "ansible.builtin.copy", "ansible.builtin.include_tasks"}
    for task in tasks:
        module = next(k for k in task if "." in k)
        assert module.startswith("ansible.windows.") or module in allowed, task["name"]
        if module == "ansible.builtin.copy":
            assert task.get("delegate_to") == "localhost", task["name"]  # runs on the controller


@needs_ansible
@pytest.mark.parametrize(("home", "expected_home"), [
    (None, "C:\\ProgramData\\nktenv-fleet"),
    ("C:\\Users\\藤澤\\nktenv fleet", "C:\\Users\\藤澤\\nktenv fleet"),
])
def test_windows_paths_keep_their_backslashes(tmp_path: Path, home: str | None, expected_home: str) -> None:
    # "\v" and "\n" in C:\...\venv and C:\...\nktenv are escapes inside a Jinja string; render the real role.
    play = [{"hosts": "lab", "gather_facts": False, "tasks": [
        {"ansible.builtin.include_role": {"name": "nktenv_host", "tasks_from": "windows_paths", "public": True}},
        {"ansible.builtin.copy": {"dest": str(tmp_path / "paths.json"), "content": "{{ {"
                                  "'python': nktenv_python, 'home': nktenv_home, 'exe': nktenv_win_nktenv_exe,"
                                  "'py': nktenv_win_python_exe, 'out': nktenv_win_out} | to_json }}"},
         "delegate_to": "localhost"},
    ]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
    # PowerShell over SSH, as in the example inventory; set_fact and copy run on the controller.
    (tmp_path / "inv.yml").write_text(yaml.safe_dump({"lab": {"hosts": {"winbox": {
        "ansible_connection": "local", "ansible_shell_type": "powershell",
        "ansible_python_interpreter": sys.executable}}}}), encoding="utf-8")
    extra = {} if home is None else {"nktenv_home_windows": home}
    (tmp_path / "vars.json").write_text(json.dumps(extra), encoding="utf-8")
    env = _env(tmp_path)
    env["ANSIBLE_ROLES_PATH"] = str(ANSIBLE / "roles")
    out = subprocess.run([PLAYBOOK, "-i", str(tmp_path / "inv.yml"), str(tmp_path / "play.yml"),
                          "-e", f"@{tmp_path / 'vars.json'}"], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    paths = json.loads((tmp_path / "paths.json").read_text(encoding="utf-8"))
    assert paths["python"] == "py -3.10" and paths["home"] == expected_home
    assert paths["exe"] == expected_home + "\\venv\\Scripts\\nktenv.exe"
    assert paths["py"] == expected_home + "\\venv\\Scripts\\python.exe"
    assert re.fullmatch(re.escape(expected_home + "\\results\\winbox-") + r"\d{8}T\d{6}Z\.json", paths["out"])


def _checkout_copy(dest: Path) -> Path:
    # pip builds in the source folder; a copy keeps the shared checkout untouched.
    skip = shutil.ignore_patterns(".git", ".ci-venv", "tests", "build", "dist", "*.egg-info", "__pycache__",
                                  ".pytest_cache", ".hypothesis", "deploy", "benchmarks", ".venv")
    shutil.copytree(REPO, dest, ignore=skip)
    return dest


@pytest.mark.slow
@needs_ansible
def test_playbook_on_localhost_fetches_and_compares(tmp_path: Path) -> None:
    home = tmp_path / "host home"  # a space, as in C:\Users\... folders
    (home / "results").mkdir(parents=True)
    fleet = lab_fleet()
    seeded = ["lab-pc-01.json", "lab-pc-02.json", "研究室-pc-04.json"]
    for name in seeded:  # results an earlier `nktenv bench --out` left on the host
        (home / "results" / name).write_text(json.dumps(fleet[name], ensure_ascii=False), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in (home / "results").iterdir()}
    controller = tmp_path / "controller"
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"lab": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}), encoding="utf-8")
    extra = {
        "nktenv_home": str(home),
        "nktenv_python": sys.executable,
        "nktenv_package": str(_checkout_copy(tmp_path / "src")),
        # offline: the venv borrows this interpreter's pip and packages (PYTHONPATH below), installs only nktenv
        "nktenv_venv_args": ["--without-pip"],
        "nktenv_pip_args": ["--no-deps", "--no-build-isolation", "--no-index"],
        "nktenv_run_setup": False,
        "nktenv_run_bench": False,
        "nktenv_controller_dir": str(controller),
        "nktenv_controller_command": [sys.executable, "-m", "nktenv"],
    }
    (tmp_path / "vars.json").write_text(json.dumps(extra), encoding="utf-8")
    env = _env(tmp_path)
    # This interpreter may itself be a venv (CI): its packages are not the "system" ones of a venv made
    # from it, so hand them over explicitly. Only paths: .pth files (an editable nktenv) are not read.
    env["PYTHONPATH"] = os.pathsep.join(site.getsitepackages())
    out = subprocess.run([PLAYBOOK, "-i", str(inventory), str(ANSIBLE / "fleet.yml"), "-e", f"@{tmp_path / 'vars.json'}"],
                         capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    log = out.stdout[-6000:] + out.stderr[-3000:]
    assert out.returncode == 0, log

    # nktenv was installed into its own venv on the host, and doctor ran there (exit 1 = findings is fine)
    assert (home / "venv" / "bin" / "nktenv").is_file()
    assert list((home / "venv" / "lib").glob("python3*/site-packages/nktenv/compare/analyze.py"))
    doctor = json.loads((controller / "doctor" / "localhost.json").read_text(encoding="utf-8"))
    assert str(doctor.get("schema", "")).startswith("nktenv.")
    assert "nktenv doctor exited" in out.stdout

    # every result came home, byte for byte, and the host's copies were left as they were
    fetched = controller / "bench" / "localhost"
    assert sorted(p.name for p in fetched.iterdir()) == sorted(seeded)
    assert all((fetched / n).read_bytes() == before[n] for n in seeded)
    assert {p.name: p.read_bytes() for p in (home / "results").iterdir()} == before

    # and they were compared
    report = json.loads((controller / "compare.json").read_text(encoding="utf-8"))
    assert report["schema"] == "nktenv.compare/1"
    assert sorted(m["name"] for m in report["machines"]) == ["lab-pc-01", "lab-pc-02", "研究室-pc-04"]
    assert any(o["machine"] == "lab-pc-02" and o["causes"][0]["code"] == "thermal-throttle" for o in report["outliers"])
    html = (controller / "report.html").read_text(encoding="utf-8")
    assert 'data-machine="研究室-pc-04"' in html and "<svg" in html
    assert (controller / "report.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_wheelhouse_step_builds_on_the_controller_then_sets_up_from_it() -> None:
    plays = yaml.safe_load((ANSIBLE / "fleet.yml").read_text(encoding="utf-8"))
    names = [p["name"] for p in plays]
    build = names.index("Build the lab's wheelhouse on the controller from every host's facts")
    setup = names.index("Set up each lab machine from the wheelhouse")
    assert 0 < build < setup < names.index("Compare every result on the controller")
    argv = plays[build]["tasks"][0]["ansible.builtin.command"]["argv"]
    assert "'wheelhouse', 'build'" in argv and "results ~ '/doctor'" in argv  # the facts doctor fetched
    role = ANSIBLE / "roles" / "nktenv_host" / "tasks"
    linux = yaml.safe_load((role / "wheelhouse.yml").read_text(encoding="utf-8"))
    assert "'--wheelhouse'" in linux[-1]["ansible.builtin.command"]["argv"]
    # without a wheelhouse play, the host role still sets up on its own; with one, it waits for it
    for name in ("linux.yml", "windows.yml"):
        tasks = yaml.safe_load((role / name).read_text(encoding="utf-8"))
        step = next(t for t in tasks if t["name"] == "Set up a verified framework environment")
        assert "not (nktenv_wheelhouse | bool)" in step["when"]
    for task in yaml.safe_load((role / "wheelhouse_windows.yml").read_text(encoding="utf-8")):
        module = next(k for k in task if "." in k)
        assert module.startswith("ansible.windows.") or module == "ansible.builtin.include_tasks", task["name"]


@pytest.mark.slow
@needs_ansible
def test_playbook_builds_the_wheelhouse_and_sets_up_from_it(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "tests" / "wheelhouse"))
    from lab_index import LabServer, build_lab_index, mirror_args

    torch, vision = "2.14.1", "0.29.1"
    build_lab_index(tmp_path / "index", torch, vision, variants=("cpu",))
    home = tmp_path / "host home"
    (home / "results").mkdir(parents=True)  # an earlier bench result, so the compare play has one
    (home / "results" / "lab-pc-01.json").write_text(json.dumps(lab_fleet()["lab-pc-01.json"]), encoding="utf-8")
    controller = tmp_path / "controller"
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"lab": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}), encoding="utf-8")
    server = LabServer(tmp_path / "index")
    with server.running() as base:
        extra = {
            "nktenv_home": str(home), "nktenv_python": sys.executable,
            "nktenv_package": str(_checkout_copy(tmp_path / "src")),
            "nktenv_venv_args": ["--without-pip"],
            "nktenv_pip_args": ["--no-deps", "--no-build-isolation", "--no-index"],
            "nktenv_wheelhouse": True, "nktenv_run_setup": True, "nktenv_run_bench": False,
            "nktenv_wheelhouse_args": ["--torch", torch, *mirror_args(base, ("cpu",))],
            # the stand-in torchvision has no compiled operators for setup's check to run
            "nktenv_wheelhouse_setup_args": ["--torch", torch, "--without", "torchvision", "--installer", "pip"],
            "nktenv_controller_dir": str(controller),
            "nktenv_controller_command": [sys.executable, "-m", "nktenv"],
        }
        (tmp_path / "vars.json").write_text(json.dumps(extra), encoding="utf-8")
        env = _env(tmp_path)
        env["PYTHONPATH"] = os.pathsep.join(site.getsitepackages())
        env["NKTENV_OVERRIDE_GPUS"] = ""  # plan the CPU build whatever this machine has
        out = subprocess.run([PLAYBOOK, "-i", str(inventory), str(ANSIBLE / "fleet.yml"), "-e", f"@{tmp_path / 'vars.json'}"],
                             capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
        fetched_by_build = server.wheels_served()
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    # built once on the controller from the doctor result the playbook fetched, copied, set up from it
    manifest = json.loads((controller / "wheelhouse" / "nktenv-wheelhouse.json").read_text(encoding="utf-8"))
    assert [t["complete"] for t in manifest["targets"]] == [True]
    assert sorted(fetched_by_build) == sorted(manifest["files"])  # each file crossed once
    assert (home / "wheelhouse" / "nktenv-wheelhouse.json").is_file()
    record = json.loads((home / ".venv" / ".nktenv" / "record.json").read_text(encoding="utf-8"))
    assert record["spec"]["no_index"] is True and any(f"torch=={torch}+cpu" in r for r in record["spec"]["requirements"])
