"""Find the fenced Python examples in Markdown files and sort them by how they are run.

``tests/test_doc_examples.py`` runs the examples. This module only reads Markdown: it finds
each fenced block whose info string is ``python`` (or ``py``, ``python3``, ``pycon``), notes
the line of its opening fence, and decides its kind from its syntax tree:

- a program calls ``asyncio.run``, ``anyio.run`` or ``trio.run`` at module level (or under
  ``if __name__ == "__main__":``) and runs as a script;
- a pytest module defines ``test_*`` functions or ``Test*`` classes at module level;
- a fragment is any other valid Python, top-level ``await`` and ``async for`` included;
- a block marked ``<!-- example: not run, because REASON -->`` on the line before its
  opening fence is not run, and the reason is reported;
- anything else (invalid Python, a program that is also a pytest module, an unknown marker,
  an unclosed fence) is unclassified, with the reason.
"""

from __future__ import annotations

import ast
import enum
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Example", "Kind", "find_examples", "markdown_files", "parse_markdown", "stray_markers"]

#: Info strings (their first word, lower case) that mark a fenced block as Python. A ``pycon``
#: session is not valid Python, so it is unclassified until it is marked not run.
PYTHON_INFO_STRINGS = frozenset({"python", "py", "python3", "pycon"})

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^\s*<!--\s*example:(?P<text>.*?)-->\s*$")
_NOT_RUN = re.compile(r"not run,?\s+because\s+(?P<reason>\S.*)", re.DOTALL)
_RUN_FUNCTIONS = frozenset({"asyncio.run", "anyio.run", "trio.run"})
# Modules and names whose use ties an example to asyncio.
_ASYNCIO_MODULES = frozenset({"asyncio", "aiohttp", "uvloop"})
_ASYNCIO_NAMES = frozenset({"AiohttpTransport"})


class Kind(enum.Enum):
    """How an example is run."""

    PROGRAM = "program"
    PYTEST_MODULE = "pytest module"
    FRAGMENT = "fragment"
    NOT_RUN = "not run"
    UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class Example:
    """One fenced Python block of a Markdown file."""

    #: The Markdown file, relative to the repository root, with ``/`` separators.
    path: str
    #: The 1-based line number of the opening fence.
    line: int
    #: The block's code, without the fences and without the indentation of a list item.
    code: str
    kind: Kind
    #: Why the block is not run or unclassified; empty for the other kinds.
    reason: str = ""

    @property
    def id(self) -> str:
        """The test id: the file and the line of the opening fence."""
        return f"{self.path}:{self.line}"

    @property
    def padded_code(self) -> str:
        """The code behind as many blank lines as precede it in the file.

        Compiled under the Markdown file's name, its line numbers in tracebacks are then the
        file's line numbers.
        """
        return "\n" * self.line + self.code

    def contains(self, snippet: str) -> bool:
        """Return whether the code contains ``snippet``."""
        return snippet in self.code

    @property
    def uses_asyncio(self) -> bool:
        """Whether the code imports asyncio, aiohttp or uvloop, or uses ``AiohttpTransport``."""
        try:
            tree = ast.parse(self.code)
        except SyntaxError:
            return False
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                if any(alias.name.split(".")[0] in _ASYNCIO_MODULES for alias in node.names):
                    return True
            elif isinstance(node, ast.ImportFrom):
                if (node.module or "").split(".")[0] in _ASYNCIO_MODULES:
                    return True
                if any(alias.name in _ASYNCIO_NAMES for alias in node.names):
                    return True
            elif isinstance(node, ast.Name) and node.id in _ASYNCIO_NAMES:
                return True
        return False


@dataclass(frozen=True)
class _Block:
    """A fenced block before classification."""

    line: int
    #: The 1-based line number of the closing fence, or of the last line when unclosed.
    last_line: int
    info: str
    code: str
    closed: bool
    marker: str | None


def markdown_files(root: Path) -> list[Path]:
    """Return ``README.md`` and every ``.md`` file under ``docs/``, in a stable order."""
    files = [root / "README.md"] if (root / "README.md").is_file() else []
    docs = root / "docs"
    if docs.is_dir():
        files.extend(sorted(docs.rglob("*.md")))
    return files


def find_examples(root: Path) -> list[Example]:
    """Return the Python examples of every file that :func:`markdown_files` lists."""
    examples: list[Example] = []
    for path in markdown_files(root):
        relative = path.relative_to(root).as_posix()
        examples.extend(parse_markdown(path.read_text(encoding="utf-8"), relative))
    return examples


def parse_markdown(text: str, path: str) -> list[Example]:
    """Return the Python examples of one Markdown text, classified.

    :param path: the file's name in the examples and their reasons
    """
    return [
        _classify(path, block)
        for block in _fenced_blocks(text.splitlines())
        if block.info in PYTHON_INFO_STRINGS
    ]


def stray_markers(text: str) -> list[int]:
    """Return the 1-based line numbers of example markers that no Python fence follows."""
    lines = text.splitlines()
    marked_fences = {
        block.line - 1 for block in _fenced_blocks(lines) if block.info in PYTHON_INFO_STRINGS
    }
    inside_fences = _lines_inside_fences(lines)
    return [
        number
        for number, line in enumerate(lines, start=1)
        if _MARKER.match(line) and number not in inside_fences and number not in marked_fences
    ]


def _fenced_blocks(lines: list[str]) -> Iterator[_Block]:
    """Yield each fenced block with the line of its opening fence.

    As in CommonMark, a closing fence uses the opening fence's character, at least as many
    of them, and nothing else on its line, and a fence that is never closed runs to the end
    of the text. Unlike CommonMark, a fence indented by four spaces or more still counts
    (CommonMark counts it only inside a list item), so that no block is missed.
    """
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            index += 1
            continue
        fence = opening["fence"]
        indent = len(opening["indent"])
        info_words = opening["info"].strip().split()
        info = info_words[0].lower() if info_words else ""
        previous = lines[index - 1] if index > 0 else ""
        marker = _MARKER.match(previous)

        opening_line = index + 1
        body: list[str] = []
        closed = False
        index += 1
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                closed = True
                index += 1
                break
            body.append(_strip_indent(lines[index], indent))
            index += 1

        yield _Block(
            line=opening_line,
            last_line=index,
            info=info,
            code=textwrap.dedent("\n".join(body)) + "\n",
            closed=closed,
            marker=marker["text"].strip() if marker else None,
        )


def _strip_indent(line: str, indent: int) -> str:
    """Remove up to ``indent`` leading spaces, as CommonMark does inside an indented fence."""
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent) :]


def _lines_inside_fences(lines: list[str]) -> set[int]:
    """Return the 1-based numbers of the lines inside any fenced block, fences included."""
    inside: set[int] = set()
    for block in _fenced_blocks(lines):
        inside.update(range(block.line, block.last_line + 1))
    return inside


def _classify(path: str, block: _Block) -> Example:
    """Decide how ``block`` is run, or why it cannot be."""

    def example(kind: Kind, reason: str = "") -> Example:
        return Example(path=path, line=block.line, code=block.code, kind=kind, reason=reason)

    if not block.closed:
        return example(Kind.UNCLASSIFIED, "its fence is never closed")
    if block.marker is not None:
        not_run = _NOT_RUN.fullmatch(block.marker)
        if not_run is None:
            return example(
                Kind.UNCLASSIFIED,
                f"its marker {block.marker!r} is not of the form "
                "'<!-- example: not run, because REASON -->'",
            )
        return example(Kind.NOT_RUN, not_run["reason"].strip())

    try:
        tree = ast.parse(block.code)
    except SyntaxError as error:
        return example(
            Kind.UNCLASSIFIED,
            f"it is not valid Python ({error.msg}, line {block.line + (error.lineno or 0)}); "
            "fix it, or mark it '<!-- example: not run, because REASON -->'",
        )

    is_program = any(_runs_event_loop(statement) for statement in tree.body)
    is_test_module = any(_is_test(statement) for statement in tree.body)
    if is_program and is_test_module:
        return example(Kind.UNCLASSIFIED, "it both runs an event loop and defines tests")
    if (is_program or is_test_module) and not _compiles_as_module(block.code):
        return example(
            Kind.UNCLASSIFIED,
            "it uses await, async for or async with outside a function, which a "
            + ("script" if is_program else "test module")
            + " cannot",
        )
    if is_program:
        return example(Kind.PROGRAM)
    if is_test_module:
        return example(Kind.PYTEST_MODULE)
    return example(Kind.FRAGMENT)


def _runs_event_loop(statement: ast.stmt) -> bool:
    """Return whether a module-level statement calls ``asyncio.run`` or the like."""
    if isinstance(statement, ast.If) and _is_main_guard(statement.test):
        return any(_runs_event_loop(inner) for inner in statement.body)
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return False
    function = statement.value.func
    return (
        isinstance(function, ast.Attribute)
        and isinstance(function.value, ast.Name)
        and f"{function.value.id}.{function.attr}" in _RUN_FUNCTIONS
    )


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _is_test(statement: ast.stmt) -> bool:
    """Return whether a module-level statement defines a test that pytest collects."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        return statement.name.startswith("test")
    if isinstance(statement, ast.ClassDef):
        return statement.name.startswith("Test")
    return False


def _compiles_as_module(code: str) -> bool:
    """Return whether ``code`` compiles without top-level ``await``."""
    try:
        compile(code, "<example>", "exec", dont_inherit=True)
    except SyntaxError:
        return False
    return True
