"""A report shown section by section: blocks queued, then displayed with their references.

Report stage (how it is shown). A notebook-facing report (the cohort report's
:class:`~mentoreval.report.cohort.document.CohortReport`) subclasses
:class:`SectionedReport`; each of its ``show_*`` methods is a :func:`section`. While a section
is built, its Markdown, HTML tables and figures are queued; a sentence naming the section's
numbered figures and tables can then be put in front of them (:meth:`~SectionedReport._refer`),
because their numbers are only known once they are queued. When the section ends the queue
is displayed: consecutive figures in one block (so narrow ones sit two to a row) and
consecutive Markdown in one block (so a heading and the sentence under it stay together on
paper).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from typing import TypeVar

from mentoreval.report.layout import Numbering, figures_html, refs

__all__ = ["SectionedReport", "ref_list", "section"]

R = TypeVar("R", bound="SectionedReport")


def section(method: Callable[[R], None]) -> Callable[[R], None]:
    """A ``show_*`` method: what it queues is displayed together when it returns."""

    @functools.wraps(method)
    def show(self: R) -> None:
        self._out = []
        try:
            method(self)
            self._flush()
        finally:
            self._out = None

    return show


def ref_list(numbers: Sequence[int | None], kind: str, tables: Sequence[int | None] = ()) -> str:
    """``Figures 3–4`` (and ``Table 2``) for the numbers that were shown.

    Examples
    --------
    >>> ref_list([3, None, 4], "Figure"), ref_list([5], "Figure", [2, 3]), ref_list([None], "Table")
    ('Figures 3 and 4', 'Figure 5 and Tables 2 and 3', '')
    """
    first = refs(kind, [n for n in numbers if n is not None])
    second = refs("Table", [n for n in tables if n is not None])
    return " and ".join(t for t in (first, second) if t)


class SectionedReport:
    """Queueing, numbering and referring for a report shown one section at a time.

    Examples
    --------
    >>> class Demo(SectionedReport):
    ...     @section
    ...     def show(self) -> None:
    ...         self._md("## Results")
    ...         at = self._mark()
    ...         self._emit("html", "<table></table>")
    ...         self._refer(at, [self.numbers.table()], "gives the counts")
    ...         print([kind for kind, _ in self._out])
    ...     def _flush(self) -> None:
    ...         print([content[:20] for _, content in self._out])
    >>> Demo().show()
    ['md', 'md', 'html']
    ['## Results', 'Table 1 gives the co', '<table></table>']
    """

    def __init__(self) -> None:
        self.numbers = Numbering()
        self._out: list[tuple[str, str]] | None = None

    def _emit(self, kind: str, content: str, *, at: int | None = None) -> None:
        """Queue Markdown (``"md"``), HTML (``"html"``) or a figure (``"figure"``) for the
        section being built (shown at once outside a section)."""
        if self._out is None:
            self._out = [(kind, content)]
            self._flush()
            self._out = None
        elif at is None:
            self._out.append((kind, content))
        else:
            self._out.insert(at, (kind, content))

    def _flush(self) -> None:
        from IPython.display import HTML, Markdown, display

        for kind, group in itertools.groupby([*(self._out or [])], key=lambda item: item[0]):
            parts = [content for _, content in group]
            if kind == "figure":
                display(HTML(figures_html(parts)))
            elif kind == "md":
                display(Markdown("\n\n".join(parts)))
            else:
                for content in parts:
                    display(HTML(content))

    def _md(self, text: str, *, at: int | None = None) -> None:
        self._emit("md", text, at=at)

    def _mark(self) -> int:
        """Where a sentence referring to the blocks queued next will go."""
        return len(self._out or [])

    def _refer(
        self, at: int, numbers: Sequence[int | None], what: str, kind: str = "Table"
    ) -> None:
        """Insert ``"Tables 3–5 {what}."`` at ``at`` when any of ``numbers`` was shown
        (``gives``/``lists`` become ``give``/``list`` for several)."""
        shown = [n for n in numbers if n is not None]
        if shown:
            plural = len(shown) > 1
            verb = what.replace("gives ", "give ").replace("lists ", "list ") if plural else what
            self._md(f"{refs(kind, shown)} {verb}.", at=at)
