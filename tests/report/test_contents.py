"""The contents list: in print, two lists side by side holding every entry once, in order."""

from __future__ import annotations

import re

import pytest

from mentoreval.report.contents import add_contents, two_column_contents


def _report(sections: list[int]) -> str:
    """A body with one h2 per section, each followed by that many h3s."""
    parts = []
    for i, subs in enumerate(sections, start=1):
        parts.append(f'<h2 id="s{i}">{i}. Section {i}</h2>')
        parts.extend(f'<h3 id="s{i}-{j}">Part {i}.{j}</h3>' for j in range(1, subs + 1))
    return add_contents("<h1>Report</h1>" + "".join(parts))


@pytest.mark.parametrize(
    ("sections", "first"),
    [([0, 0], 1), ([0, 0, 0], 2), ([5, 0, 0, 0, 0, 0, 0], 1), ([0, 0, 0, 0, 0, 0, 5], 6),
     ([0, 0, 4, 0, 0, 3, 0, 2, 0], 5), ([3, 3, 3, 3], 2)],
)  # fmt: skip
def test_print_contents_split_in_two_lists_balanced_by_entries(
    sections: list[int], first: int
) -> None:
    body = _report(sections)
    out = two_column_contents(body)
    lists = re.search(r'<div class="mentoreval-toc-columns"><ol>(.*)</ol><ol>(.*)</ol></div>', out)
    assert lists is not None
    left, right = lists.groups()
    assert re.findall(r'href="#(s\d+)"', left) == [f"s{i}" for i in range(1, first + 1)]
    # every entry once, in the order of the one list, and nothing else changed
    links = re.findall(r'href="#([^"]+)"', out)
    assert links == re.findall(r'href="#([^"]+)"', body)
    assert out.replace(lists.group(0), "") == body.replace(
        re.search(r"<ol>.*</ol>(?=</nav>)", body).group(0), ""
    )
    # the first list is at least as long as the second, by at most the section that spans
    n_left, n_right = left.count("<li>"), right.count("<li>")
    assert n_left >= n_right or n_right - n_left <= max(sections) + 1


def test_print_contents_leave_a_one_section_report_alone() -> None:
    body = _report([3])
    assert two_column_contents(body) == body
