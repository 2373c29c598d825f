"""Checks that a rendered report's numbers look like numbers (issue 16, point 7).

Shared by the cohort and annual report tests: every HTML table of a report, and every CSV
under ``tables/`` against the full-precision copy in ``results.json``.
"""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

from mentoreval.outputs import table_from_json
from mentoreval.report.numbers import COUNT_COLUMNS, DECIMALS, STATISTICS, column_kinds
from mentoreval.report.tables import column_label

#: A whole number printed with decimals: "57.0", "1998.00", "−3.0".
FLOAT_WHOLE = re.compile(r"^[−+-]?\d+\.0+$")
#: What a count cell may show: a whole number, the suppression label, a dash, nothing.
COUNT_CELL = re.compile(r"^(\d+|< \d+|\[c\]|–|)$")


def html_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every ``<table>`` of an HTML page as (header texts, rows of cell texts)."""

    def clean(cell: str) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()

    tables = []
    for table in re.findall(r"<table\b.*?</table>", text, flags=re.S):
        head = re.search(r"<thead>(.*?)</thead>", table, flags=re.S)
        headers = [
            clean(h)
            for h in re.findall(r"<th\b[^>]*>(.*?)</th>", head.group(1) if head else "", flags=re.S)
        ]
        body = re.search(r"<tbody>(.*?)</tbody>", table, flags=re.S)
        rows = [
            [clean(c) for c in re.findall(r"<td\b[^>]*>(.*?)</td>", row, flags=re.S)]
            for row in re.findall(
                r"<tr\b[^>]*>(.*?)</tr>", body.group(1) if body else "", flags=re.S
            )
        ]
        tables.append((headers, rows))
    return tables


def _labels(names: frozenset[str] | set[str]) -> set[str]:
    return {column_label(n) for n in names}


def count_headers(headers: list[str]) -> set[str]:
    """The headers of a table that name counts (``n (pairs)``, ``Items``, ``Unchanged``...)."""
    named = _labels(COUNT_COLUMNS) | {"n", "Items", "Moved in", "Moved out", "Tests"}
    return {h for h in headers if h in named or re.match(r"^n\b", h)}


def assert_html_numbers_look_like_numbers(text: str) -> int:
    """No count shown with decimals, and no whole number with decimals outside a statistic's
    column; returns the number of tables checked."""
    p_values = _labels({"p_value", "p_adj", "wilcoxon_p", "q_p_value"})
    statistics = _labels(STATISTICS) | p_values | {"df"}
    tables = html_tables(text)
    for headers, rows in tables:
        counts = count_headers(headers)
        for row in rows:
            for header, cell in zip(headers, row, strict=False):
                where = f"{header!r} = {cell!r} in table {headers}"
                if header in counts:
                    assert COUNT_CELL.match(cell), where
                is_statistic = header in statistics or header.endswith("CI)")
                if FLOAT_WHOLE.match(cell) and not is_statistic:
                    assert header == "Version" and cell == "1.0", where  # a version's own name
    return len(tables)


def assert_csvs_rounded_with_full_precision_in_results(folder: Path) -> int:
    """Every ``tables/*.csv`` is the rounded copy of its ``results.json`` table: counts are
    whole numbers, statistics have at most one decimal more than the report shows, p-values
    3 decimals or ``<0.001``; and ``results.json`` holds the unrounded values. Returns the
    number of values that rounding changed (so a caller can check something was rounded)."""
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    data = results["table_data"]
    csvs = sorted((folder / "tables").glob("*.csv"))
    assert csvs and {p.stem for p in csvs} <= set(data)
    changed = 0
    for path in csvs:
        full = table_from_json(data[path.stem])
        kinds = column_kinds(full)
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == list(full.columns), path
        assert len(rows) - 1 == len(full), path
        for i, column in enumerate(full.columns):
            kind = kinds.get(str(column))
            if kind is None:
                continue
            places = {"count": 0, "p": 3, "percent": 1, "share": 3}.get(
                kind, DECIMALS.get(str(column), 2) + 1
            )
            for r, row in enumerate(rows[1:]):
                cell, value = row[i], full[column].iloc[r]
                where = f"{path.name} {column} row {r + 1}: {cell!r} (full {value!r})"
                if cell == "":
                    assert value != value or value is None, where  # NaN or missing
                    continue
                if kind == "count":
                    assert re.fullmatch(r"-?\d+", cell), where
                elif kind == "p" and cell == "<0.001":
                    assert value < 0.001, where
                    continue
                elif kind == "bf":  # a Bayes factor: three significant digits
                    assert float(cell) == float(f"{value:.3g}"), where
                    changed += float(cell) != float(value)
                    continue
                decimals = len(cell.partition(".")[2])
                assert decimals <= places, where
                assert abs(float(cell) - float(value)) <= 0.5 * 10**-places + 1e-12, where
                changed += float(cell) != float(value)
    return changed
