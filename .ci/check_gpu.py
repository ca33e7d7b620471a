"""Fail the GPU workflow in one line when torch cannot use this runner's GPU for both recipes.

Run by `.github/workflows/train-gpu.yml` before the CUDA tests; the rules are in
docs/gpu_runner.md ("GPU generations"). `problem` is pure, so tests/test_workflows.py checks
the rules without a GPU.
"""

from __future__ import annotations

import sys

BF16_CAPABILITY = (8, 0)  # the fast recipe's bfloat16 autocast: Ampere (sm_80) or newer


def problem(name: str, capability: tuple[int, int], arch_list: list[str], cuda: str) -> str | None:
    """Why this torch build cannot train both recipes on this GPU, in one line, or None.

    ``capability`` is ``torch.cuda.get_device_capability()``, ``arch_list`` is
    ``torch.cuda.get_arch_list()`` and ``cuda`` is ``torch.version.cuda``.
    """
    major, minor = capability
    sm = f"sm_{major}{minor}"
    # a binary built for sm_XY runs on every sm_XZ with Z >= Y (same major), never across majors
    if not any(f"sm_{major}{m}" in arch_list for m in range(minor + 1)):
        return (
            f"{name} ({sm}) is not in this torch build's architectures (CUDA {cuda}: "
            f"{', '.join(a for a in arch_list if a.startswith('sm_'))}); Blackwell (sm_100, "
            "sm_120) needs torch_index https://download.pytorch.org/whl/cu130 and a driver >= 580"
        )
    if capability < BF16_CAPABILITY:
        return (
            f"{name} ({sm}) has no bfloat16, which the fast recipe's autocast needs: "
            "use an Ampere (sm_80) or newer GPU"
        )
    return None


def main() -> int:
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device: check the driver against docs/gpu_runner.md", file=sys.stderr)
        return 1
    name = torch.cuda.get_device_name(0)
    capability = torch.cuda.get_device_capability(0)
    found = problem(name, capability, torch.cuda.get_arch_list(), str(torch.version.cuda))
    if found:
        print(f"::error::{found} (docs/gpu_runner.md)", file=sys.stderr)
        return 1
    sm = "sm_{}{}".format(*capability)
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {name} ({sm})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
