"""Every error the package raises reads ``name must be <rule>, got <value>; <fix>``.

The test walks every module under ``transconv/`` with ``ast`` and finds each exception it builds
(``raise ValueError(...)``, and ``return ValueError(...)`` in a helper that a ``raise`` calls). The
message, a string or an f-string (``{...}`` stands for each interpolated value), must:

1. match ``<subject> must <rule>, got <what>; <fix>``: the subject names the argument, flag,
   file or value; the rule says what it must be; ``got`` restates what was passed or found;
   after ``"; "`` comes what to do about it;
2. use one shape notation, ``(B, C, H, W)``: no ``BxCxHxW``, ``HxW`` or ``CHW``, and no size
   written ``{h}x{w}``;
3. raise `TypeError` (or a subclass) when it reports a type or dtype (``got {type(x).__name__}``,
   ``got dtype ...``), and a `TypeError` only when the rule or what was got names a type.

A message built elsewhere is judged where it is built: a local variable by its assignment, a
helper's call by every string the helper returns. A re-raise that adds context to a caught
error, ``raise ValueError(f"--flag {root}: {err}") from None``, passes when it names the input
before ``{err}``: the caught message was judged at its own site. Bare ``raise`` re-raises an
error judged where it was made. Stops are not errors: ``KeyboardInterrupt``, ``SystemExit``
and ``RunStopped`` (which signal stopped a run, and what it kept) are skipped. ``ALLOWED``
lists the few messages that cannot carry a fix, each with its reason; it must stay small and
every entry must still be needed.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from transconv.run.training import RunStopped

PACKAGE = Path(__file__).resolve().parent.parent / "transconv"

# (file, exception class, start of the message template) -> why it cannot follow the grammar
ALLOWED = {
    ("__init__.py", "AttributeError", "module 'transconv' has no attribute"): (
        "Python's own wording for a missing module attribute, which tools and readers expect"
    ),
    ("_moved.py", "AttributeError", "module {module} has no attribute"): (
        "Python's own wording for a missing module attribute, which tools and readers expect"
    ),
    ("_arguments.py", "AssertionError", "unreachable"): (
        "an internal invariant: only a bug in transconv reaches it, a user has nothing to fix"
    ),
    ("viz/animation.py", "AssertionError", "drawn output"): (
        "an internal invariant (the drawing agrees with transconv.shapes): only a bug reaches it"
    ),
}

GRAMMAR = re.compile(
    r"^(?P<subject>\S.*?) must (?P<rule>.+?), got (?P<got>.+?); (?P<fix>.+)$", re.S
)
BANNED = re.compile(
    r"\b[BCNHW](?:x[BCNHW])+\b"  # BxCxHxW, HxW
    r"|\b(?:N?B?CHW|B?HWC|BHW)\b"  # CHW, HWC, BCHW
    r"|\}x\{"  # a size written {h}x{w}: sizes are (h, w) tuples
)
# what was got is a type or dtype: ``got {type(x).__name__}``, ``got dtype ...``, ``got {x.dtype}``
TYPE_SHOWN = re.compile(r"^(?:dtype\b|\{type\(|\{[^}]*\.dtype\}|\{[^}]*__name__\})")
TYPE_WORDS = re.compile(
    r"\bdtype\b|type\(|__name__|\b(?:None|int|ints|float|floating|str|string|bool|number|Tensor"
    r"|tuple|list|sequence|dict)\b"
)
CONTROL_FLOW = (KeyboardInterrupt, SystemExit, GeneratorExit, StopIteration, RunStopped)


@dataclass
class Site:
    """One exception built in the package: where, which class, and its message template(s)."""

    file: str
    line: int
    cls: type[BaseException]
    messages: list[str]
    context_of: str | None = None  # the caught error's name, for ``f"context: {err}"`` re-raises

    @property
    def where(self) -> str:
        return f"transconv/{self.file}:{self.line}"


def render(node: ast.expr) -> str | None:
    """A string or f-string as a template (``{expr}`` per value); None if not a string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(value.value)
            else:
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = render(node.left), render(node.right)
        return None if left is None or right is None else left + right
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exception_classes() -> dict[str, type[BaseException]]:
    """The builtin exceptions and those the package defines or imports, by name (for a class
    imported inside a function, which the module's namespace does not hold)."""
    found = {
        name: value
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    for path in sorted(PACKAGE.rglob("*.py")):
        module = importlib.import_module(_module_name(path))
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, BaseException):
                found.setdefault(name, value)
    return found


class _Walker(ast.NodeVisitor):
    """Collects the exceptions one module builds, with the function and handler around each."""

    def __init__(self, file: str, tree: ast.Module, classes: dict[str, type[BaseException]]):
        self.file, self.classes = file, classes
        self.namespace = vars(importlib.import_module(_module_name(PACKAGE / file)))
        self.functions = {
            node.name: node
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self.sites: list[Site] = []
        self.problems: list[str] = []
        self.scope: list[ast.AST] = []
        self.handlers: list[str | None] = []

    def _class_of(self, func: ast.expr) -> type[BaseException] | None:
        """The exception class a call builds (``ValueError``, ``argparse.ArgumentTypeError``)."""
        value = None
        if isinstance(func, ast.Name):
            value = self.namespace.get(func.id, self.classes.get(func.id))
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            value = getattr(self.namespace.get(func.value.id), func.attr, None)
        return value if isinstance(value, type) and issubclass(value, BaseException) else None

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.scope.append(node)
        self.generic_visit(node)
        self.scope.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self.handlers.append(node.name)
        self.generic_visit(node)
        self.handlers.pop()

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc
        if isinstance(exc, ast.Call) and self._class_of(exc.func) is None:
            # a factory such as ``raise _bad(path, ...)``: its ``return Error(...)`` is a site
            name = exc.func.attr if isinstance(exc.func, ast.Attribute) else exc.func.id
            if name not in self.functions:
                where = f"transconv/{self.file}:{node.lineno}"
                self.problems.append(f"{where}: raises {name}(...), not a known exception class")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        cls = self._class_of(node.func)
        if cls is not None and not issubclass(cls, CONTROL_FLOW):
            self._add(node, cls)
        self.generic_visit(node)

    def _add(self, node: ast.Call, cls: type[BaseException]) -> None:
        where = f"transconv/{self.file}:{node.lineno}"
        args = list(node.args)
        if issubclass(cls, OSError) and len(args) == 2:  # OSError(errno, message)
            args = args[1:]
        if not args:
            self.problems.append(f"{where}: {cls.__name__}() without a message")
            return
        messages = self._messages(args[0])
        if messages is None:
            self.problems.append(
                f"{where}: the message of {cls.__name__} cannot be read; build it at the raise "
                "or in a helper that returns it as a string"
            )
            return
        handler = self.handlers[-1] if self.handlers else None
        self.sites.append(Site(self.file, node.lineno, cls, messages, handler))

    def _messages(self, arg: ast.expr) -> list[str] | None:
        text = render(arg)
        if text is not None:
            return [text]
        if isinstance(arg, ast.Name) and self.scope:
            assigned = [
                node.value
                for node in ast.walk(self.scope[-1])
                if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == arg.id for t in node.targets)
            ]
            if len(assigned) == 1:
                return self._messages(assigned[0])
        if isinstance(arg, ast.Call):
            name = getattr(arg.func, "attr", None) or getattr(arg.func, "id", None)
            helper = self.functions.get(name)
            if helper is not None:
                returned = [
                    node.value
                    for node in ast.walk(helper)
                    if isinstance(node, ast.Return)
                    and node.value is not None
                    and not (isinstance(node.value, ast.Constant) and node.value.value is None)
                ]
                texts = [render(value) for value in returned]
                return None if not texts or None in texts else texts
        return None


def collect() -> tuple[list[Site], list[str]]:
    """Every exception built under transconv/, and the sites whose message cannot be read."""
    classes = _exception_classes()
    sites, problems = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        file = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        walker = _Walker(file, tree, classes)
        walker.visit(tree)
        sites += walker.sites
        problems += walker.problems
    return sites, problems


def violations(message: str, cls: type[BaseException], context_of: str | None = None) -> list[str]:
    """What is wrong with one message template under the house grammar (empty: nothing)."""
    found = []
    if BANNED.search(message):
        found.append(f"banned shape notation {BANNED.search(message).group()!r}; write (H, W)")
    if context_of and message.endswith("{" + context_of + "}"):
        context = message[: -len(context_of) - 2].rstrip(": ")
        if "{" not in context and "--" not in context:
            found.append("a re-raise must name the input before the caught error")
        return found
    match = GRAMMAR.match(message)
    if match is None:
        found.append("not `<name> must <rule>, got <value>; <fix>`")
        return found
    if len(match["fix"].split()) < 2 and not match["fix"].startswith("{"):
        found.append(f"the fix {match['fix']!r} says nothing to do")
    if TYPE_SHOWN.search(match["got"]) and not issubclass(cls, TypeError):
        found.append(f"reports a type or dtype, so it must be a TypeError, not {cls.__name__}")
    if issubclass(cls, TypeError) and not TYPE_WORDS.search(match["rule"] + match["got"]):
        found.append("a TypeError must name the type it wanted or got")
    return found


def _allowed(site: Site) -> str | None:
    for (file, cls, start), reason in ALLOWED.items():
        if site.file == file and site.cls.__name__ == cls:
            if all(message.startswith(start) for message in site.messages):
                return reason
    return None


@pytest.fixture(scope="module")
def sites() -> list[Site]:
    found, problems = collect()
    assert not problems, "\n".join(problems)
    return found


def test_the_walk_finds_the_package_s_errors(sites) -> None:
    # the count and a few known sites: a walk that found nothing would pass everything
    assert len(sites) > 150
    files = {site.file for site in sites}
    assert {"_arguments.py", "shapes.py", "losses.py", "run/config.py"} <= files
    assert any(issubclass(site.cls, TypeError) for site in sites)


def test_every_error_message_follows_the_house_grammar(sites) -> None:
    bad = []
    for site in sites:
        if _allowed(site):
            continue
        for message in site.messages:
            for problem in violations(message, site.cls, site.context_of):
                bad.append(f"{site.where} {site.cls.__name__}: {problem}\n    {message!r}")
    assert not bad, f"{len(bad)} message(s) off the house grammar:\n" + "\n".join(bad)


def test_allow_list_is_small_and_every_entry_is_still_needed(sites) -> None:
    assert len(ALLOWED) <= 5
    for key, reason in ALLOWED.items():
        matched = [s for s in sites if s.file == key[0] and _allowed(s) == reason]
        matched = [s for s in matched if all(m.startswith(key[2]) for m in s.messages)]
        assert matched, f"{key} matches no error any more: drop it from ALLOWED"
        assert any(violations(m, s.cls) for s in matched for m in s.messages), (
            f"{key} follows the grammar now: drop it from ALLOWED"
        )


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        ("expected logits BxCxHxW and target BxHxW, got {a} and {b}", ValueError),
        ("logits must be (B, C, H, W), got {shape}", ValueError),  # no fix
        ("logits must be (B, C, H, W), got {shape}; fix", ValueError),  # a fix of one word
        ("image must be HxW, got {shape}; pass one image", ValueError),
        ("tile must cover the {h}x{w} image, got {n}; pass a larger tile", ValueError),
        ("an image must be CHW, got {shape}; pass one image", ValueError),
        ("x must be a float tensor, got dtype {x.dtype}; convert it with x.float()", ValueError),
        ("x must be a Tensor, got {type(x).__name__}; wrap it with torch.tensor", RuntimeError),
        ("x must be positive, got {x}; pass x=1", TypeError),
        ("checkpoint {path} not found; train first", FileNotFoundError),
    ],
)
def test_the_checker_refuses_messages_off_the_grammar(message, cls) -> None:
    assert violations(message, cls)


@pytest.mark.parametrize(
    ("message", "cls", "context_of"),
    [
        ("{name} must be an int, got {value}; pass e.g. {name}={hint}", TypeError, None),
        ("x must have dtype uint8, got {x.dtype}; read it with read_rgb(path)", TypeError, None),
        ("--out must be a writable directory, got {out}; pick another --out", ValueError, None),
        ("in spatial dimension {i}: {err}", ValueError, "err"),
    ],
)
def test_the_checker_accepts_messages_in_the_grammar(message, cls, context_of) -> None:
    assert violations(message, cls, context_of) == []


def test_a_re_raise_without_the_input_is_refused() -> None:
    assert violations("failed: {err}", ValueError, "err")
