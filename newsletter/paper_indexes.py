"""Reads for the matcher: the learned acronym table and indexes of papers. Nothing here writes: planning stores
what was learned (services.indexing.acronyms_learn).
"""

from __future__ import annotations

from newsletter.matching import AcronymTable, PaperIndex, PaperText, build_index
from newsletter.models import AcronymState
from papers.selectors import paper_texts, papers_version


def acronyms_current() -> AcronymTable:
    """The learned acronym table, extended in memory with every paper since it was stored; writes nothing.

    services.indexing.acronyms_learn stores the same table (planning calls it once a run). Until it does, what
    a read learned is kept for this process while the stored table and the papers stay as they were: learning
    thousands of papers on every admin page or rendered digest took seconds each time."""
    state = _acronym_state()
    key = (state.learned_through_paper_id, papers_version())
    table = _acronyms_learned.get(key)
    if table is None:
        table = acronyms_pending(state=state)[1]
        _acronyms_learned.clear()  # one entry: the current one
        _acronyms_learned[key] = table
    return table


_acronyms_learned: dict[tuple[int | None, tuple[int, int, str]], AcronymTable] = {}
PaperRow = tuple[int, str, str]  # id, title, abstract


def acronyms_pending(*, state: AcronymState | None = None) -> tuple[AcronymState, AcronymTable, list[PaperRow]]:
    """The stored state, the table with the papers since it learned, and those papers (none: nothing new)."""
    state = state or _acronym_state()
    new_papers = paper_texts(after_id=state.learned_through_paper_id)
    table = AcronymTable.from_json(state.table) if state.table else AcronymTable()
    if new_papers:
        table.learn(texts=(f"{title}. {abstract}" for _, title, abstract in new_papers))
    return state, table, new_papers


def _acronym_state() -> AcronymState:
    return AcronymState.objects.filter(pk=1).first() or AcronymState(pk=1)


def paper_index_build(*, papers: list[PaperRow], acronyms: AcronymTable | None = None) -> PaperIndex:
    """The matcher's index of these (id, title, abstract) rows, with the learned acronyms unless given."""
    texts = [PaperText(id=pk, title=title, abstract=abstract) for pk, title, abstract in papers]
    return build_index(papers=texts, acronyms=acronyms if acronyms is not None else acronyms_current())
