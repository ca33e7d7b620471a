"""Every code block a reader can copy from README.md and docs/*.md works.

Python blocks are executed. Shell lines that call ``transconv`` (``python -m transconv``,
``torchrun ... -m transconv``) are parsed by the real argument parser, so a renamed or removed
flag fails here before a reader finds it. ``make`` lines must name targets the Makefile has.
The pages in docs/*.py are executed by the strict docs build.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from transconv.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^( *)```(\w+)\n(.*?)^\1```", re.DOTALL | re.MULTILINE)


def code_blocks(language: str) -> list[tuple[str, str]]:
    """(where, code) of every fenced block in ``language`` across the documents."""
    blocks = []
    for path in DOCUMENTS:
        text = path.read_text()
        for match in FENCE.finditer(text):
            if match.group(2) == language:
                line = text[: match.start()].count("\n") + 1
                indent = len(match.group(1))
                code = "\n".join(row[indent:] for row in match.group(3).splitlines())
                blocks.append((f"{path.relative_to(ROOT)}:{line}", code))
    return blocks


def shell_commands(code: str) -> list[list[str]]:
    """Commands of a shell block: continuation lines joined, comments dropped."""
    joined = code.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        commands += [list(group) for group in _split_on(words, {"&&", ";"}) if group]
    return commands


def _split_on(words: list[str], separators: set[str]) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    for word in words:
        if word in separators:
            groups.append([])
        else:
            groups[-1].append(word)
    return groups


def transconv_arguments(command: list[str]) -> list[str] | None:
    """The arguments after ``-m transconv`` or the ``transconv`` script, else None."""
    for index, word in enumerate(command):
        if word == "-m" and command[index + 1 : index + 2] == ["transconv"]:
            return command[index + 2 :]
        if index == 0 and word == "transconv":
            return command[1:]
    return None


PYTHON_BLOCKS = code_blocks("python")
SHELL_BLOCKS = code_blocks("bash")


def test_the_documents_have_snippets_to_check() -> None:
    assert PYTHON_BLOCKS and SHELL_BLOCKS


@pytest.mark.parametrize(("where", "code"), PYTHON_BLOCKS, ids=[w for w, _ in PYTHON_BLOCKS])
def test_python_block_runs(where: str, code: str) -> None:
    exec(compile(code, where, "exec"), {"__name__": "__snippet__"})


def loop_expansions(code: str, command: list[str]) -> list[list[str]]:
    """``command`` once per value of the ``for VAR in ...; do`` loops in ``code`` it uses.

    Examples
    --------
    >>> loop_expansions("for r in a b; do x $r; done", ["x", "runs/$r"])
    [['x', 'runs/a'], ['x', 'runs/b']]
    """
    variants = [command]
    for name, values in re.findall(r"\bfor (\w+) in ([^;\n]+?)\s*;\s*do\b", code):
        pattern = re.compile(rf"\$(?:{name}\b|\{{{name}\}})")
        if any(pattern.search(word) for word in command):
            variants = [
                [pattern.sub(value, word) for word in variant]
                for variant in variants
                for value in values.split()
            ]
    return variants


@pytest.mark.parametrize(("where", "code"), SHELL_BLOCKS, ids=[w for w, _ in SHELL_BLOCKS])
def test_shell_block_matches_the_cli_and_makefile(where: str, code: str) -> None:
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    for command in (v for c in shell_commands(code) for v in loop_expansions(code, c)):
        arguments = transconv_arguments(command)
        if arguments is not None:
            build_parser().parse_args(arguments)  # argparse exits 2 on an unknown flag
        elif command[0] == "make":
            assert set(command[1:]) <= targets, f"{where}: unknown make target in {command}"


def test_a_renamed_flag_would_fail() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--out", "x", "--no-such-flag"])
