"""The table of contents of a rendered report, made from its own headings.

Report stage (how it is shown). :func:`add_contents` reads the section (``h2``) and
subsection (``h3``) headings of the HTML that nbconvert wrote — each carries an ``id`` — and
puts a ``<nav>`` listing them, as links, before the first section. On screen the links jump
to the sections; in the PDF the stylesheet adds each section's page number
(``target-counter``), and WeasyPrint makes the PDF's bookmarks from the same headings.
"""

from __future__ import annotations

import html
import re

__all__ = ["add_contents", "headings", "two_column_contents", "unique_heading_ids"]

_HEADING = re.compile(r"<h([23])\b([^>]*)>(.*?)</h\1>", re.DOTALL | re.IGNORECASE)
_ANY_HEADING = re.compile(r"<h([1-6])\b([^>]*)>(.*?)</h\1>", re.DOTALL | re.IGNORECASE)
_ID = re.compile(r"""\bid=(["'])(.*?)\1""")
_TAG = re.compile(r"<[^>]+>")
_NAV = re.compile(r'(<nav class="mentoreval-toc"[^>]*>.*?)(<ol>.*?</ol>)(</nav>)', re.DOTALL)
_LIST_TAG = re.compile(r"</?(?:ol|li)\b[^>]*>")
_ANCHOR = re.compile(r"<a\b[^>]*class=[\"']anchor-link[\"'][^>]*>.*?</a>", re.DOTALL)


def headings(body: str) -> list[tuple[int, str, str]]:
    """``(level, id, text)`` of every ``h2``/``h3`` that has an ``id``, in order.

    Examples
    --------
    >>> headings('<h2 id="1.-Summary">1. Summary<a class="anchor-link" href="#x">¶</a></h2>'
    ...          '<h3 id="a">A &amp; B</h3><h3>no id</h3>')
    [(2, '1.-Summary', '1. Summary'), (3, 'a', 'A & B')]
    """
    found = []
    for match in _HEADING.finditer(body):
        ident = _ID.search(match.group(2))
        if not ident:
            continue
        text = html.unescape(_TAG.sub("", _ANCHOR.sub("", match.group(3)))).strip()
        found.append((int(match.group(1)), html.unescape(ident.group(2)), text))
    return found


def unique_heading_ids(body: str) -> str:
    """Give every heading an ``id`` of its own: a later heading whose ``id`` repeats an
    earlier one (nbconvert makes ids from the heading text, so an instrument named in a
    domain section and again in the item appendix gets one id twice) becomes ``<id>-2``,
    ``<id>-3``…, with its own anchor link. Otherwise a contents link, its PDF page number
    (``target-counter``) and its bookmark would all lead to the first heading.

    Examples
    --------
    >>> unique_heading_ids('<h4 id="W">W<a class="anchor-link" href="#W">¶</a></h4>'
    ...                    '<h3 id="W">W<a class="anchor-link" href="#W">¶</a></h3>')
    '<h4 id="W">W<a class="anchor-link" href="#W">¶</a></h4><h3 id="W-2">W<a class="anchor-link" href="#W-2">¶</a></h3>'
    """
    taken = {html.unescape(m.group(2)) for m in _ID.finditer(body)}
    seen: set[str] = set()

    def rename(match: re.Match[str]) -> str:
        found = _ID.search(match.group(2))
        if not found:
            return match.group(0)
        ident = html.unescape(found.group(2))
        if ident not in seen:
            seen.add(ident)
            return match.group(0)
        n = 2
        while f"{ident}-{n}" in taken:
            n += 1
        new = f"{ident}-{n}"
        taken.add(new)
        seen.add(new)
        old_attr, old_href = found.group(2), f'href="#{found.group(2)}"'
        escaped = html.escape(new, quote=True)
        attrs = match.group(2).replace(f"id={found.group(1)}{old_attr}{found.group(1)}",
                                       f'id="{escaped}"', 1)  # fmt: skip
        inner = match.group(3).replace(old_href, f'href="#{escaped}"')
        return f"<h{match.group(1)}{attrs}>{inner}</h{match.group(1)}>"

    return _ANY_HEADING.sub(rename, body)


def add_contents(body: str, *, title: str = "Contents") -> str:
    """Insert a linked table of contents before the first ``h2`` (unchanged without one);
    repeated heading ids are made unique first (:func:`unique_heading_ids`).

    The list nests subsections under their section; the ``<nav>`` is labelled for screen
    readers. The first section's heading is the insertion point, inside the cell that holds
    it, so the contents follow the title and any notices.

    Examples
    --------
    >>> out = add_contents('<h1>T</h1><div><h2 id="s1">1. One</h2></div>'
    ...                    '<h3 id="s1a">Part</h3><h2 id="s2">2. Two</h2>')
    >>> print(out[: out.index("</nav>") + 6])  # doctest: +NORMALIZE_WHITESPACE
    <h1>T</h1><div><nav class="mentoreval-toc" aria-labelledby="mentoreval-toc-title"><p
    class="mentoreval-toc-title" id="mentoreval-toc-title">Contents</p><ol><li><a
    href="#s1">1. One</a><ol><li><a href="#s1a">Part</a></li></ol></li><li><a
    href="#s2">2. Two</a></li></ol></nav>
    >>> add_contents("<p>no sections</p>")
    '<p>no sections</p>'
    """
    body = unique_heading_ids(body)
    found = headings(body)
    if not any(level == 2 for level, _, _ in found):
        return body
    items: list[str] = []
    open_sub = False
    started = False
    for level, ident, text in found:
        link = f'<a href="#{html.escape(ident, quote=True)}">{html.escape(text)}</a>'
        if level == 2 or not started:
            if open_sub:
                items.append("</ol>")
                open_sub = False
            if started:
                items.append("</li>")
            items.append(f"<li>{link}")
            started = True
        else:
            if not open_sub:
                items.append("<ol>")
                open_sub = True
            items.append(f"<li>{link}</li>")
    items.append("</ol></li>" if open_sub else "</li>")
    nav = (
        '<nav class="mentoreval-toc" aria-labelledby="mentoreval-toc-title">'
        f'<p class="mentoreval-toc-title" id="mentoreval-toc-title">{html.escape(title)}</p>'
        "<ol>" + "".join(items) + "</ol></nav>"
    )
    first = next(m for m in _HEADING.finditer(body) if m.group(1) == "2" and _ID.search(m.group(2)))
    return body[: first.start()] + nav + body[first.start() :]


def two_column_contents(body: str) -> str:
    """The contents list of :func:`add_contents` as two lists side by side, for print.

    A two-column list in CSS (``columns: 2``) makes WeasyPrint balance the columns by
    laying the list out again and again: about a third of a 22-page report's PDF time
    (issue 18). The PDF instead gets the sections split in two here, each section with its
    subsections, the first list at least as long as the second (in entries), in a
    ``<div class="mentoreval-toc-columns">`` the print stylesheet sets side by side. The
    HTML on screen and the Word file keep the one list.

    Examples
    --------
    >>> nav = add_contents('<h2 id="a">1. A</h2><h3 id="a1">A1</h3><h2 id="b">2. B</h2>'
    ...                    '<h2 id="c">3. C</h2>')
    >>> out = two_column_contents(nav)
    >>> print(out[out.index("<div") : out.index("</nav>")])  # doctest: +NORMALIZE_WHITESPACE
    <div class="mentoreval-toc-columns"><ol><li><a href="#a">1. A</a><ol><li><a
    href="#a1">A1</a></li></ol></li></ol><ol><li><a href="#b">2. B</a></li><li><a
    href="#c">3. C</a></li></ol></div>
    >>> two_column_contents("<p>no contents</p>")
    '<p>no contents</p>'
    """
    found = _NAV.search(body)
    if not found:
        return body
    listing = found.group(2)
    # the top-level entries: (start, end) in the list's text, and how many entries each holds
    entries: list[tuple[int, int, int]] = []
    depth, start, count = 0, 0, 0
    for tag in _LIST_TAG.finditer(listing):
        name = tag.group(0)
        if name.startswith("<ol"):
            depth += 1
        elif name == "</ol>":
            depth -= 1
        elif name.startswith("<li"):
            count += 1
            if depth == 1 and count == 1:
                start = tag.start()
        elif depth == 1:  # the </li> of a top-level entry
            entries.append((start, tag.end(), count))
            count = 0
    if len(entries) < 2:
        return body
    total = sum(n for _, _, n in entries)
    first, taken = 0, 0
    while first < len(entries) - 1 and 2 * (taken + entries[first][2]) <= total + entries[first][2]:
        taken += entries[first][2]
        first += 1

    def items(chosen: list[tuple[int, int, int]]) -> str:
        return "".join(listing[a:b] for a, b, _ in chosen)

    columns = (
        '<div class="mentoreval-toc-columns">'
        f"<ol>{items(entries[:first])}</ol><ol>{items(entries[first:])}</ol></div>"
    )
    return body[: found.start(2)] + columns + body[found.end(2) :]
