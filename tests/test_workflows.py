"""The GitHub Actions workflows: valid against GitHub's schema (offline) and least-privilege."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
CURRENT_MAJORS = {
    "actions/checkout": "v4",
    "actions/setup-python": "v5",
    "actions/cache": "v4",
    "actions/upload-artifact": "v4",
    "actions/download-artifact": "v4",
    "actions/upload-pages-artifact": "v3",
    "actions/deploy-pages": "v4",
    "pypa/gh-action-pypi-publish": "release/v1",  # the ref PyPA documents
}


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess:
    """Run check-jsonschema with a built-in (vendored) schema; any network access would fail."""
    dead = "http://127.0.0.1:9"  # nothing listens there: a download attempt errors out
    env = os.environ | {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "NO_PROXY": ""}
    cmd = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


def load(name: str) -> dict:
    """Parse a workflow with PyYAML, undoing YAML 1.1's reading of the key ``on`` as True."""
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_four_workflows_exist():
    assert {p.name for p in FILES} >= {"ci.yml", "docs.yml", "train-gpu.yml", "release.yml"}


@pytest.mark.parametrize(
    "schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"]
)
def test_workflows_validate_against_github_schema(schema):
    result = check_jsonschema(schema, *FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_can_fail(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: bad\non: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
        "    permissions:\n      contents: everything\n    steps: []\n"
    )
    result = check_jsonschema("vendor.github-workflows", bad)
    assert result.returncode == 1 and "bad.yml" in result.stdout + result.stderr


def test_on_key_quirk_is_handled():
    assert all("on" in load(p.name) and True not in load(p.name) for p in FILES)


def test_actions_use_current_majors():
    for path in FILES:
        for step in steps(load(path.name)):
            if "uses" in step:
                action, version = step["uses"].split("@")
                assert CURRENT_MAJORS.get(action) == version, f"{path.name}: {step['uses']}"


def test_ci_runs_the_ci_script_as_root_on_debian_with_cpu_wheels_on_push_and_pr():
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    job = ci["jobs"]["test"]
    assert job["runs-on"] == "ubuntu-latest"
    # a Debian image runs as root, so .ci/run can apt-get Debian's chromium for the browser tests
    assert job["container"].startswith("python:3.11-bookworm")
    assert "download.pytorch.org/whl/cpu" in job["env"]["PIP_EXTRA_INDEX_URL"]
    assert any(s.get("run", "").strip() == "bash .ci/run" for s in job["steps"])
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert job["env"]["CI"] == "true"  # .ci/run then fails rather than drop the browser tests


def test_docs_permissions_are_least_privilege():
    docs = load("docs.yml")
    assert docs["permissions"] == {"contents": "read"}
    assert docs["concurrency"]["group"]
    deploy, build = docs["jobs"]["deploy"], docs["jobs"]["build"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert "permissions" not in build
    assert "refs/heads/main" in deploy["if"] and deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"] for s in deploy["steps"]] == ["actions/deploy-pages@v4"]
    assert any(
        "mkdocs build --strict" in s.get("run", "") or s.get("run") == "make docs-strict"
        for s in build["steps"]
    )
    uses = [s.get("uses", "") for s in build["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)


def test_docs_redeploys_after_gpu_training():
    docs, train = load("docs.yml"), load("train-gpu.yml")
    assert docs["on"]["workflow_run"]["workflows"] == [train["name"]]


def train_job() -> dict:
    return load("train-gpu.yml")["jobs"]["train"]


def step_index(job: dict, needle: str) -> int:
    """Index of the first step whose command contains ``needle``."""
    return next(i for i, s in enumerate(job["steps"]) if needle in s.get("run", ""))


def test_train_gpu_triggers_runner_and_steps():
    train = load("train-gpu.yml")
    assert "workflow_dispatch" in train["on"] and train["on"]["workflow_dispatch"]["inputs"]
    assert train["on"]["schedule"][0]["cron"]
    assert train["permissions"] == {"contents": "read"}
    job = train["jobs"]["train"]
    assert {"self-hosted", "gpu"} <= set(job["runs-on"])
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert 'benchmarks/train_throughput.py --voc "$VOC_DIR" --write' in runs
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in job["steps"])


def test_train_gpu_runs_the_cuda_tests_before_anything_else():
    job = train_job()
    tests = step_index(job, "pytest")
    assert "-k cuda" in job["steps"][tests]["run"]
    # no silent skips: the same step first fails unless torch sees a usable GPU
    run = job["steps"][tests]["run"]
    assert run.index("python .ci/check_gpu.py") < run.index("pytest")
    assert "torch.cuda.is_available()" in (ROOT / ".ci" / "check_gpu.py").read_text()
    # right after the install: before the data, the training and the benchmark
    assert tests == step_index(job, "pip install") + 1
    for later in ("download_voc", "--recipe d2l", "--recipe fast", "train_throughput.py"):
        assert tests < step_index(job, later), later


@pytest.mark.slow
def test_cuda_selection_covers_every_test_that_needs_cuda(tmp_path):
    """Every test skipped for want of a CUDA device is one the workflow's ``-k`` selects."""
    expression = re.search(
        r"-k (\w+)", train_job()["steps"][step_index(train_job(), "pytest")]["run"]
    ).group(1)
    files = [str(p) for p in sorted(TESTS.glob("test_*.py")) if "cuda" in p.read_text().lower()]
    script = tmp_path / "collect.py"
    script.write_text(COLLECT)
    done = subprocess.run(
        [sys.executable, str(script), expression, *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["need_cuda"], "no CUDA test found: the check itself is broken"
    assert set(found["need_cuda"]) <= set(found["selected"]), sorted(
        set(found["need_cuda"]) - set(found["selected"])
    )


COLLECT = """
import json, sys
import pytest

class Items:
    def __init__(self):
        self.ids = []
    def pytest_collection_finish(self, session):
        self.ids = [(i.nodeid, any("cuda" in str(m.kwargs.get("reason", "")).lower()
                                   and "without" not in str(m.kwargs.get("reason", ""))
                                   for m in i.iter_markers("skipif"))) for i in session.items]

every, chosen = Items(), Items()
args = ["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[2:]]
assert pytest.main(args, plugins=[every]) == 0
assert pytest.main([*args, "-k", sys.argv[1]], plugins=[chosen]) == 0
print(json.dumps({"need_cuda": [n for n, cuda in every.ids if cuda],
                  "selected": [n for n, _ in chosen.ids]}))
"""


def test_train_gpu_installs_torch_from_the_chosen_wheel_index():
    train = load("train-gpu.yml")
    default = train["on"]["workflow_dispatch"]["inputs"]["torch_index"]["default"]
    assert re.fullmatch(r"https://download\.pytorch\.org/whl/cu\d+", default)
    assert f"inputs.torch_index || '{default}'" in train["env"]["TORCH_INDEX"]  # on schedule
    install = train_job()["steps"][step_index(train_job(), "pip install")]["run"]
    assert 'pip install torch torchvision --index-url "$TORCH_INDEX"' in install
    # torch first: the editable install then finds it satisfied and keeps that build
    assert install.index("--index-url") < install.index("pip install -e")


def test_train_gpu_keeps_voc_in_a_persistent_directory_not_the_actions_cache():
    train = load("train-gpu.yml")
    assert not any(s.get("uses", "").startswith("actions/cache") for s in steps(train))
    default = train["on"]["workflow_dispatch"]["inputs"]["data_dir"]["default"]
    assert default.startswith("/")  # outside the workspace, which checkout wipes
    assert f"inputs.data_dir || '{default}'" in train["env"]["DATA_DIR"]
    assert train["env"]["VOC_DIR"].endswith("/VOCdevkit/VOC2012")
    download = train_job()["steps"][step_index(train_job(), "download_voc")]["run"]
    assert '"$DATA_DIR"' in download  # download_voc skips a tree already there


def test_train_gpu_trains_both_recipes_from_the_pretrained_backbone():
    train = load("train-gpu.yml")
    assert train["env"]["WEIGHTS"] == "DEFAULT"
    runs = "\n".join(s.get("run", "") for s in train["jobs"]["train"]["steps"])
    for recipe in ("d2l", "fast"):
        command = train_job()["steps"][step_index(train_job(), f"--recipe {recipe}")]["run"]
        assert f"--out runs/{recipe}" in command and '--weights "$WEIGHTS"' in command
    assert 'metrics["args"]["weights"] == "DEFAULT"' in runs


def test_train_gpu_publishes_only_from_main():
    publish = load("train-gpu.yml")["jobs"]["publish"]
    assert publish["if"].startswith("github.ref == 'refs/heads/main' && (")
    checkout = next(s for s in publish["steps"] if s.get("uses", "").startswith("actions/ch"))
    assert checkout["with"]["ref"] == "main"


def test_train_gpu_only_publish_job_writes():
    train = load("train-gpu.yml")
    writers = {
        name
        for name, job in train["jobs"].items()
        if "write" in (job.get("permissions") or {}).values()
    }
    assert writers == {"publish"}
    assert train["jobs"]["publish"]["permissions"] == {"contents": "write"}
    runs = "\n".join(s.get("run", "") for s in train["jobs"]["publish"]["steps"])
    assert "for recipe in d2l fast; do" in runs  # both recipes, side by side
    for name in ("metrics.json", "history.csv", "curves.png", "predictions.png"):
        assert f'"runs/$recipe/{name}"' in runs
    assert '"docs/results/$recipe/"' in runs
    assert "cp runs/benchmark.json docs/results/benchmark.json" in runs
    assert "git push origin HEAD:main" in runs


def test_docs_gpu_runner_page_documents_the_label():
    page = (ROOT / "docs" / "gpu_runner.md").read_text()
    label = load("train-gpu.yml")["jobs"]["train"]["runs-on"]
    assert f"[{', '.join(label)}]" in page
    assert "torchrun" in page and "config.sh" in page


def test_docs_gpu_runner_page_is_true_to_the_workflow():
    page = (ROOT / "docs" / "gpu_runner.md").read_text()
    inputs = load("train-gpu.yml")["on"]["workflow_dispatch"]["inputs"]
    for name in ("torch_index", "data_dir"):
        assert f"`{inputs[name]['default']}`" in page, name
    for fact in (
        "-k cuda",
        "--weights DEFAULT",
        "docs/results/d2l/",
        "docs/results/fast/",
        "refs/heads/main",
        "≥ 580",
        "≥ 525",
    ):
        assert fact in page, fact
    assert "actions/cache" not in page


# --- issue 20: the rules a first run on GitHub needs -------------------------------------------


def test_docs_pages_concurrency_is_on_the_deploy_job_only():
    # a workflow-wide "pages" group let a pull request's build cancel a queued deploy of main
    docs = load("docs.yml")
    workflow_group = docs["concurrency"]["group"]
    assert "github.ref" in workflow_group and "github.event_name" in workflow_group
    assert "pull_request" in str(docs["concurrency"]["cancel-in-progress"])
    deploy = docs["jobs"]["deploy"]
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert "concurrency" not in docs["jobs"]["build"]


def test_train_gpu_uses_the_machines_python_not_setup_python():
    # actions/setup-python on a self-hosted runner finds Python only on Ubuntu releases GitHub
    # hosts, and wants AGENT_TOOLSDIRECTORY (actions/setup-python #401, #946, #1214)
    train = load("train-gpu.yml")
    uses = [s.get("uses", "") for s in train_job()["steps"]]
    assert not any(u.startswith("actions/setup-python") for u in uses)
    assert train["env"]["PYTHON"] == "${{ vars.GPU_PYTHON || 'python3' }}"
    install = train_job()["steps"][step_index(train_job(), "pip install")]["run"]
    assert install.startswith('"$PYTHON" -m venv .venv')
    check = train_job()["steps"][step_index(train_job(), "sys.version_info >= (3, 10)")]["run"]
    assert '"$PYTHON" -c' in check and "python3-venv" in check


def test_train_gpu_requires_a_c_compiler_before_the_cuda_tests():
    # -k cuda selects tests that torch.compile; Triton fails with "Failed to find C compiler"
    job = train_job()
    check = step_index(job, "command -v cc")
    assert "build-essential" in job["steps"][check]["run"]
    assert "exit 1" in job["steps"][check]["run"]
    assert check < step_index(job, "pip install") < step_index(job, "pytest")


def test_train_gpu_is_off_until_the_gpu_runner_variable_is_true():
    # otherwise the Monday schedule queues for a runner that does not exist and fails weekly
    train = load("train-gpu.yml")
    assert train["jobs"]["train"]["if"] == "vars.GPU_RUNNER == 'true'"
    assert train["jobs"]["publish"]["needs"] == "train"  # skipped with it
    assert "always()" not in train["jobs"]["publish"]["if"]


def test_train_gpu_d2l_recipe_defaults_to_d2ls_five_epochs():
    train = load("train-gpu.yml")
    inputs = train["on"]["workflow_dispatch"]["inputs"]
    assert "epochs" not in inputs
    assert inputs["d2l_epochs"]["default"] == 5 and inputs["fast_epochs"]["default"] == 30
    assert train["env"]["D2L_EPOCHS"] == "${{ inputs.d2l_epochs || 5 }}"  # on schedule too
    assert train["env"]["FAST_EPOCHS"] == "${{ inputs.fast_epochs || 30 }}"
    for recipe in ("d2l", "fast"):
        command = train_job()["steps"][step_index(train_job(), f"--recipe {recipe}")]["run"]
        assert f'--epochs "${recipe.upper()}_EPOCHS"' in command, command


def test_train_gpu_publish_explains_a_refused_push():
    runs = "\n".join(s.get("run", "") for s in load("train-gpu.yml")["jobs"]["publish"]["steps"])
    assert "git push origin HEAD:main || {" in runs and "protected" in runs


def check_gpu():
    spec = importlib.util.spec_from_file_location("check_gpu", ROOT / ".ci" / "check_gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CU126 = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
CU130 = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]


@pytest.mark.parametrize(
    "capability, arch_list, expected",
    [
        ((8, 0), CU126, None),  # A100
        ((8, 9), CU126, None),  # L4 / RTX 4090: sm_86 code runs on sm_89
        ((9, 0), CU126, None),  # H100 / H200
        ((12, 0), CU126, "needs torch_index https://download.pytorch.org/whl/cu130"),  # Blackwell
        ((10, 0), CU130, None),
        ((12, 0), CU130, None),
        ((7, 5), CU126, "has no bfloat16"),  # T4: runs, but not the fast recipe
        ((7, 0), CU126, "has no bfloat16"),  # V100
        ((6, 1), CU130, "not in this torch build's architectures"),  # Pascal on cu130
    ],
)
def test_check_gpu_states_the_generation_rules(capability, arch_list, expected):
    found = check_gpu().problem("GPU", capability, arch_list, "12.6")
    if expected is None:
        assert found is None
    else:
        assert expected in found and "\n" not in found  # one line


@pytest.mark.slow  # imports torch in a subprocess
def test_check_gpu_fails_in_one_line_without_a_cuda_device():
    done = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "check_gpu.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"CUDA_VISIBLE_DEVICES": ""},
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "no CUDA device: check the driver against docs/gpu_runner.md"


def run_ci_script(tmp_path: Path, *, ci: bool, uid: str = "1000", apt_ok: bool = True):
    """Run .ci/run with stub commands: no chromium, a recorded git and make."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    stubs = {
        "id": f"echo {uid}",
        "git": f'echo "git $*" >> {log}',
        "make": f'echo "make $*" >> {log}',
        "apt-get": f'echo "apt-get $*" >> {log}; exit {0 if apt_ok else 100}',
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    (bin_dir / "dirname").symlink_to("/usr/bin/dirname")
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)} | ({"CI": "true"} if ci else {})
    done = subprocess.run(
        ["/bin/bash", str(ROOT / ".ci" / "run")], capture_output=True, text=True, env=env
    )
    return done, (log.read_text().splitlines() if log.exists() else [])


def test_ci_script_trusts_the_checkout_for_git(tmp_path):
    # in a container git refuses a checkout owned by another user (actions/checkout#1169)
    done, log = run_ci_script(tmp_path, ci=False)
    assert done.returncode == 0, done.stderr
    assert log[0] == f"git config --global --add safe.directory {ROOT}"
    assert log[-1] == "make test"


def test_ci_script_without_chromium_passes_off_ci_and_says_so(tmp_path):
    done, log = run_ci_script(tmp_path, ci=False)
    assert "the browser tests will be left out" in done.stdout and "make test" in log


@pytest.mark.parametrize("uid, apt_ok", [("1000", True), ("0", False)])
def test_ci_script_without_chromium_fails_on_ci(tmp_path, uid, apt_ok):
    done, log = run_ci_script(tmp_path, ci=True, uid=uid, apt_ok=apt_ok)
    assert done.returncode == 1
    assert "on CI the browser tests must run" in done.stderr
    assert "make test" not in log


def test_docs_gpu_runner_page_documents_the_set_up_github_needs():
    page = " ".join((ROOT / "docs" / "gpu_runner.md").read_text().split())
    for fact in (
        'Source: "GitHub Actions"',  # else deploy-pages 404s
        "GPU_RUNNER",
        "`true`",
        "GPU_PYTHON",
        "AGENT_TOOLSDIRECTORY",  # the other way, setup-python, documented
        "build-essential",
        "python3-venv",
        "protected",
        "start no workflows",
        "private repository",
        "Approval for running fork pull request workflows",
        "runner group",
        "sm_80",
        "cu130",
        "Blackwell",
        "Maxwell",
        "Hopper",
        "`5`",
    ):
        assert fact in page, fact


def test_release_runs_on_version_tags_only():
    release = load("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    assert release["permissions"] == {"contents": "read"}


def test_release_checks_the_tag_and_the_artifacts_before_publishing():
    build = load("release.yml")["jobs"]["build"]
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    assert '"v$version" != "$GITHUB_REF_NAME"' in runs and '["project"]["version"]' in runs
    assert runs.index("python -m build") < runs.index("twine check --strict dist/*")
    smoke = build["steps"][step_index(build, "fresh/bin/transconv --help")]["run"]
    assert 'cd "$RUNNER_TEMP"' in smoke and "python -m transconv --help" in smoke
    assert (
        "download.pytorch.org/whl/cpu"
        in build["steps"][step_index(build, "fresh/bin")]["env"]["PIP_EXTRA_INDEX_URL"]
    )


def test_release_publishes_with_trusted_publishing_from_an_environment():
    release = load("release.yml")
    publish = release["jobs"]["publish"]
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert publish["environment"]["url"] == "https://pypi.org/project/transconv/"
    uses = [s["uses"] for s in publish["steps"]]
    assert uses == ["actions/download-artifact@v4", "pypa/gh-action-pypi-publish@release/v1"]
    upload = publish["steps"][-1]
    assert "with" not in upload  # no password or token: PyPI trusts the OIDC identity
    writers = {
        n for n, j in release["jobs"].items() if "write" in (j.get("permissions") or {}).values()
    }
    assert writers == {"publish"}


def test_readme_says_how_to_install_and_release():
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "pip install transconv" in readme
    assert 'pip install "transconv @ git+https://github.com/' in readme
    for fact in ("trusted publisher", "release.yml", "`pypi`", "git tag v"):
        assert fact in readme, fact
