"""The layout's contracts (issue 17), checked on the import graph of the code as it is (grimp).

An import inside a function counts like one at the top: the graph is what the code can reach, not what
happens to be loaded first. Imports under `if TYPE_CHECKING:` are left out: they never run (ranking.py
names Percolation's type that way, while percolation.py calls ranking).
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import grimp
import pytest

REPO_DIR = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "newsletter", "papers")


@cache
def _graph() -> grimp.ImportGraph:
    if str(REPO_DIR) not in sys.path:
        sys.path.insert(0, str(REPO_DIR))
    return grimp.build_graph(
        *PACKAGES, include_external_packages=True, exclude_type_checking_imports=True, cache_dir=None
    )


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    modules = sorted(m for m in graph.modules if m.split(".")[0] in PACKAGES)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next((c for c in children if c.split(".")[0] in PACKAGES), None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
            elif child in on_stack:
                low[module] = min(low[module], index[child])
    return found


def test_no_module_imports_itself_back_through_others() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle_when_there_is_one() -> None:
    graph = grimp.ImportGraph()
    for name in ("newsletter.a", "newsletter.b", "newsletter.c"):
        graph.add_module(name)
    graph.add_import(importer="newsletter.a", imported="newsletter.b")
    graph.add_import(importer="newsletter.b", imported="newsletter.c")
    graph.add_import(importer="newsletter.c", imported="newsletter.a")
    assert _cycles(graph) == [["newsletter.a", "newsletter.b", "newsletter.c"]]


def test_papers_knows_nothing_of_the_newsletter() -> None:
    chain = _graph().find_shortest_chain(importer="papers", imported="newsletter", as_packages=True)
    assert chain is None, f"papers reaches newsletter through {chain}"


@pytest.mark.parametrize("pure", ["newsletter.matching", "papers.parsers"])
def test_the_pure_cores_import_no_django(pure: str) -> None:
    graph = _graph()
    chain = graph.find_shortest_chain(importer=pure, imported="django", as_packages=True)
    assert chain is None, f"{pure} reaches Django through {chain}"


@pytest.mark.parametrize(
    "reads", ["newsletter.selectors", "newsletter.schedule", "newsletter.paper_indexes", "papers.selectors"]
)
def test_reads_import_no_services(reads: str) -> None:
    graph = _graph()
    for services in ("newsletter.services", "papers.services"):
        chain = graph.find_shortest_chain(importer=reads, imported=services, as_packages=True)
        assert chain is None, f"{reads} reaches {services} through {chain}"


def test_services_queue_tasks_by_name_and_never_import_them() -> None:
    chain = _graph().find_shortest_chain(importer="newsletter.services", imported="newsletter.tasks", as_packages=True)
    assert chain is None, f"a service reaches the tasks through {chain}"
