"""Size limits of the code (issue 17): no module over 350 lines and no function over 50, outside migrations and
tests. A module that grows past them is split by sub-domain; a function, into steps with names."""

from __future__ import annotations

import ast
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 50
CODE = ("benchmarks", "config", "newsletter", "papers", "scripts")


def _modules() -> list[Path]:
    found = [path for folder in CODE for path in sorted((REPO_DIR / folder).rglob("*.py"))]
    return [path for path in found if "migrations" not in path.parts] + [REPO_DIR / "manage.py"]


def _too_long(source: str) -> list[tuple[str, int]]:
    """The functions (and methods) of `source` longer than the limit, decorators and docstring included."""
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def test_no_module_is_over_350_lines() -> None:
    long = {
        str(path.relative_to(REPO_DIR)): n for path in _modules() if (n := len(path.read_text().splitlines())) > 350
    }
    assert long == {}


def test_no_function_is_over_50_lines() -> None:
    long = {str(path.relative_to(REPO_DIR)): found for path in _modules() if (found := _too_long(path.read_text()))}
    assert long == {}


def test_the_size_check_sees_a_long_function() -> None:
    body = "\n".join(f"    x{n} = {n}" for n in range(MAX_FUNCTION_LINES))
    assert _too_long(f"def long():\n{body}\n") == [("long", MAX_FUNCTION_LINES + 1)]
    assert _too_long("def short():\n    return 1\n") == []


def test_the_size_check_reads_the_code() -> None:
    assert len(_modules()) > 50  # the folders are where the code is
