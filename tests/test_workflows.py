"""The GitHub Actions workflows: valid against GitHub's schema (offline) and least-privilege."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
CURRENT_MAJORS = {
    "actions/checkout": "v4",
    "actions/setup-python": "v5",
    "actions/cache": "v4",
    "actions/upload-artifact": "v4",
    "actions/download-artifact": "v4",
    "actions/upload-pages-artifact": "v3",
    "actions/deploy-pages": "v4",
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


def test_the_three_workflows_exist():
    assert {p.name for p in FILES} >= {"ci.yml", "docs.yml", "train-gpu.yml"}


@pytest.mark.parametrize("schema", ["vendor.github-workflows",
                                    "custom.github-workflows-require-timeout"])
def test_workflows_validate_against_github_schema(schema):
    result = check_jsonschema(schema, *FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_can_fail(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: bad\non: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
                   "    permissions:\n      contents: everything\n    steps: []\n")
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


def test_ci_runs_make_test_with_cpu_wheels_on_push_and_pr():
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    job = ci["jobs"]["test"]
    assert job["runs-on"] == "ubuntu-latest"
    assert "download.pytorch.org/whl/cpu" in job["env"]["PIP_EXTRA_INDEX_URL"]
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "3.11" and setup["with"]["cache"] == "pip"
    assert any(s.get("run", "").strip() == "make test" for s in job["steps"])


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
    assert any("mkdocs build --strict" in s.get("run", "") or s.get("run") == "make docs-strict"
               for s in build["steps"])
    uses = [s.get("uses", "") for s in build["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)


def test_docs_redeploys_after_gpu_training():
    docs, train = load("docs.yml"), load("train-gpu.yml")
    assert docs["on"]["workflow_run"]["workflows"] == [train["name"]]


def test_train_gpu_triggers_runner_and_steps():
    train = load("train-gpu.yml")
    assert "workflow_dispatch" in train["on"] and train["on"]["workflow_dispatch"]["inputs"]
    assert train["on"]["schedule"][0]["cron"]
    assert train["permissions"] == {"contents": "read"}
    job = train["jobs"]["train"]
    assert {"self-hosted", "gpu"} <= set(job["runs-on"])
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "download_voc('data')" in runs
    for recipe in ("d2l", "fast"):
        assert f"--recipe {recipe} --out runs/{recipe}" in runs
    assert "benchmarks/train_throughput.py --voc \"$VOC_DIR\" --write" in runs
    cache = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["key"] == "voc2012-v1"
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in job["steps"])


def test_train_gpu_only_publish_job_writes():
    train = load("train-gpu.yml")
    writers = {name for name, job in train["jobs"].items()
               if "write" in (job.get("permissions") or {}).values()}
    assert writers == {"publish"}
    assert train["jobs"]["publish"]["permissions"] == {"contents": "write"}
    runs = "\n".join(s.get("run", "") for s in train["jobs"]["publish"]["steps"])
    for name in ("metrics.json", "history.csv", "curves.png", "predictions.png"):
        assert f"runs/fast/{name}" in runs
    assert "git push origin HEAD:main" in runs


def test_docs_gpu_runner_page_documents_the_label():
    page = (WORKFLOWS.parents[1] / "docs" / "gpu_runner.md").read_text()
    label = load("train-gpu.yml")["jobs"]["train"]["runs-on"]
    assert f"[{', '.join(label)}]" in page
    assert "torchrun" in page and "config.sh" in page
