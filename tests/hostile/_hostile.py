"""The hostile corpus's harness: one small study per case, generated in ``tmp_path``, run
through the CLI in-process, and checked for every promise at once.

A :class:`Case` states what it builds (a function that edits a :class:`Project` — the
default is a small, healthy pre/post study with a comparison group), the command, the
expected exit code, the strings the message must name (file, row, column or key) and, for
accepted inputs, the expected counts. :func:`run_case` then checks, for every case:

* the exit code is the expected one (0, 2 or 130; never 1) and no output holds "Traceback";
* the message names every expected string;
* for a successful ingest, rows read = rows kept + rows quarantined, in the summary, in
  ``quarantine.csv`` and per source in ``manifest.json``, and any expected counts;
* every file that existed before the run is byte-identical after it (sha256);
* no identifier of the exports and no declared forbidden (injected) string is in any file
  the run wrote (Parquet is read, not grepped), no CSV cell starts a spreadsheet formula,
  and no ``PWNED`` file appeared;
* a run that stops (exit 2), and ``validate``, write nothing;
* nothing was written outside ``tmp_path`` (the checkout's ``data/`` and ``reports/``,
  the home folder and ``TMPDIR``, which point into ``tmp_path``).

Cases whose fix is still pending are marked ``xfail(strict=True)`` with the class and the
issue, so each marker turns red as soon as its fix lands.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from cli_run import exit_code
from mentoreval.ingest.protect import keygen

REPO = Path(__file__).resolve().parents[2]
WHO5 = [f"who5_{i}" for i in range(1, 6)]
HEADER = ["sid", "group", "submitted_at", *WHO5]
PAYLOAD_PATSY = (
    "pre') if __import__('os').system('touch PWNED') else Treatment(0) if 1 else Treatment('pre"
)
PAYLOAD_PATSY_Q = '") + __import__("os").system("touch PWNED") + ("'
SCRIPT = "<script>alert('hostile-corpus')</script>"


def ids(n: int = 6, start: int = 1) -> list[str]:
    """Distinctive student ids (never hex, so never inside a pseudonym by chance)."""
    return [f"S7{i:06d}" for i in range(start, start + n)]


def default_rows(wave: str, n: int = 6) -> list[list[Any]]:
    """Healthy rows: half mentored, half comparison, answers varying by row."""
    day = "2024-01-10" if wave == "pre" else "2024-04-10"
    rows = []
    for j, sid in enumerate(ids(n)):
        group = "mentored" if j % 2 == 0 else "comparison"
        answers = [(j + k + (1 if wave == "post" else 0)) % 6 for k in range(5)]
        rows.append([sid, group, f"{day} 10:{j:02d}:00", *answers])
    return rows


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, sep: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def default_config() -> dict[str, Any]:
    return {
        "title": "Hostile corpus",
        "participant_id": {"column": "sid"},
        "sources": [
            {"path": "exports/pre.csv", "wave": "pre"},
            {"path": "exports/post.csv", "wave": "post"},
        ],
        "columns": {"group": "group", "submitted_at": "submitted_at"},
        "instruments": {"who5": {}},
        "analysis": {
            "pre": "pre",
            "post": "post",
            "group": {"column": "group", "treated": "mentored", "control": "comparison"},
        },
    }


@dataclass
class Project:
    """A study folder in ``tmp_path`` (``project/study``), a key outside it, and the run's
    options; a case's ``build`` edits it before :meth:`materialise` writes it."""

    tmp: Path
    config: dict[str, Any] = field(default_factory=default_config)
    config_text: str | None = None  # raw study.yaml, instead of ``config``
    files: dict[str, bytes] = field(default_factory=dict)  # relative to the study folder
    ids: set[str] = field(default_factory=set)
    key_env: str | None = "default"  # MENTOREVAL_KEY_FILE; None: unset
    args: list[str] | None = None  # None: the default for the command
    after_write: list[Callable[[Project], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.csv("exports/pre.csv", HEADER, default_rows("pre"))
        self.csv("exports/post.csv", HEADER, default_rows("post"))

    # -- places
    @property
    def root(self) -> Path:
        return self.tmp / "project"

    @property
    def study(self) -> Path:
        return self.root / "study"

    @property
    def study_file(self) -> Path:
        return self.study / "study.yaml"

    @property
    def out(self) -> Path:
        return self.tmp / "out"

    @property
    def key(self) -> Path:
        return self.tmp / "keys" / "study.key"

    # -- inputs
    def csv(
        self,
        name: str,
        header: Sequence[Any],
        rows: Sequence[Sequence[Any]],
        *,
        encoding: str = "utf-8",
        sep: str = ",",
        id_col: str = "sid",
    ) -> None:
        self.write(name, csv_text(header, rows, sep=sep).encode(encoding))
        self.note_ids(header, rows, id_col)

    def note_ids(self, header: Sequence[Any], rows: Sequence[Sequence[Any]], id_col: str) -> None:
        if id_col in header:
            at = list(header).index(id_col)
            self.ids |= {str(r[at]).strip() for r in rows if len(r) > at and r[at] is not None}

    def write(self, name: str, data: bytes | str) -> None:
        self.files[name] = data.encode("utf-8") if isinstance(data, str) else data

    def drop(self, name: str) -> None:
        self.files.pop(name, None)

    def source(self, i: int, **changes: Any) -> None:
        self.config["sources"][i].update(changes)

    def only_pre(self) -> None:
        """One source (pre), analysed as pre/pre: a smaller study for file cases."""
        self.drop("exports/post.csv")
        self.config["sources"] = self.config["sources"][:1]
        self.config["analysis"]["post"] = "pre"

    def materialise(self) -> None:
        self.study.mkdir(parents=True)
        (self.tmp / "cwd").mkdir()
        (self.tmp / "home").mkdir()
        keygen(self.key)
        for name, data in self.files.items():
            p = self.study / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        text = (
            self.config_text
            if self.config_text is not None
            else yaml.safe_dump(self.config, sort_keys=False, allow_unicode=True)
        )
        self.study_file.write_text(text, encoding="utf-8")
        for step in self.after_write:
            step(self)


@dataclass
class Case:
    """One hostile input and what must happen to it."""

    id: str
    build: Callable[[Project], None] = lambda p: None
    command: str = "ingest"
    exit: int | tuple[int, ...] = 0  # a tuple: any of these (a ``check`` tells them apart)
    names: tuple[str, ...] = ()  # strings the message (stdout + stderr) must contain
    counts: dict[str, int] = field(default_factory=dict)  # expected summary counts
    forbidden: tuple[str, ...] = ()  # in no output file at all
    forbidden_text: tuple[str, ...] = ()  # in no CSV/JSON output (Parquet may hold data)
    before: tuple[tuple[str, ...], ...] = ()  # commands run first (each must exit 0)
    check: Callable[[Result], None] | None = None  # further case-specific checks
    patch: Callable[[Project, pytest.MonkeyPatch], None] | None = None  # after ``before``
    pending: str | None = None  # "<class> (issue 13|20)" while the fix is pending
    skip_if: Callable[[], str | None] | None = None


@dataclass
class Result:
    case: Case
    project: Project
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.project.out / "manifest.json").read_text(encoding="utf-8"))

    def quarantine(self) -> list[dict[str, str]]:
        with (self.project.out / "quarantine.csv").open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    def table(self, name: str) -> Any:
        return pq.read_table(self.project.out / name).to_pandas()


def params(cases: Sequence[Case]) -> list[Any]:
    """``pytest.param`` per case, strict-xfail for pending fixes (``HOSTILE_IGNORE_PENDING=1``
    runs every case plainly, to see which pending fixes have landed)."""
    seen: set[str] = set()
    out = []
    for c in cases:
        assert c.id not in seen, c.id
        seen.add(c.id)
        marks = []
        if c.pending and not os.environ.get("HOSTILE_IGNORE_PENDING"):
            marks.append(pytest.mark.xfail(strict=True, reason=f"pending: {c.pending}"))
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


# --------------------------------------------------------------------------- running


def _tree(folder: Path) -> dict[str, str]:
    found = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            found[p.relative_to(folder).as_posix()] = "symlink:" + os.readlink(p)
        elif p.is_file():
            found[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


def _outside() -> set[str]:
    """What a run might leave outside ``tmp_path`` in the checkout (its root, ``data/`` and
    ``reports/``). Temporary files cannot land in ``/tmp``: :func:`run_case` points
    ``TMPDIR`` (and :mod:`tempfile`) and ``HOME`` into ``tmp_path``, so they are scanned
    with the outputs. (``/tmp`` itself is not listed: other processes on the machine
    write there.)"""
    seen: set[str] = set()
    for folder in (REPO, REPO / "data", REPO / "reports", REPO / "data" / "processed"):
        if folder.is_dir():
            seen |= {str(folder / n) for n in os.listdir(folder)}
    return seen


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``mentoreval.cli.main(argv)`` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = exit_code(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def default_args(project: Project, command: str) -> list[str]:
    if project.args is not None:
        return project.args
    if command == "ingest":
        return ["--out", str(project.out), "--no-store"]
    return []


def _output_text(path: Path) -> str:
    if path.suffix == ".parquet":
        try:
            return pq.read_table(path).to_pandas().to_csv(index=False) + path.name
        except Exception:  # a truncated file from a failed run: grep its bytes
            pass
    return path.read_bytes().decode("utf-8", errors="replace") + path.name


OUTPUTS = (
    "tmpdir/",
    "out/",
    ".out",
    "store/",
    "report/",
    "project/data/processed/",
    "project/data/store/",
)
"""Where a run may write (relative to ``tmp_path``): everything else is an input."""

_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def _formula_cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    return [
        c
        for c in cells
        if c and c[0] in "=+-@\t\r" and not _NUMBER.match(c) and c not in {"-", "--"}
    ]


def run_case(
    case: Case,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Result:
    if case.skip_if is not None and (why := case.skip_if()):
        pytest.skip(why)
    project = Project(tmp_path)
    case.build(project)
    project.materialise()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "tmpdir").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmpdir"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmpdir"))
    monkeypatch.chdir(tmp_path / "cwd")
    if project.key_env == "default":
        monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(project.key))
    elif project.key_env is None:
        monkeypatch.delenv("MENTOREVAL_KEY_FILE", raising=False)
    else:
        monkeypatch.setenv("MENTOREVAL_KEY_FILE", project.key_env)
    outside = _outside()
    for before in case.before:
        extra = [a.format(out=project.out, tmp=tmp_path) for a in before[1:]]
        argv = [before[0], str(project.study_file), *extra]
        code, out, err = cli(argv, capsys)
        assert code == 0, (argv, out, err)
    if case.patch is not None:
        case.patch(project, monkeypatch)
    snapshot = _tree(tmp_path)
    argv = [case.command, str(project.study_file), *default_args(project, case.command)]
    code, out, err = cli(argv, capsys)
    result = Result(case, project, code, out, err)
    after = _tree(tmp_path)
    shown = f"exit {code}\n--- stdout\n{out}\n--- stderr\n{err}"

    # exit code and message
    assert code != 1, "exit 1 means a bug escaped:\n" + shown
    allowed = case.exit if isinstance(case.exit, tuple) else (case.exit,)
    assert code in allowed, shown
    assert "Traceback" not in out + err, shown
    for name in case.names if code == allowed[0] else ():
        assert name in out + err, f"the message does not name {name!r}\n{shown}"

    # inputs byte-identical; a stopped run and validate write nothing (earlier outputs
    # intact); a successful run changes only its own outputs
    changed = [p for p, h in snapshot.items() if after.get(p) != h]
    new = sorted(set(after) - set(snapshot))
    if case.command == "validate" or code != 0:
        assert not changed, f"files changed or removed by the run: {changed}\n{shown}"
        assert not new, f"written by a run that should write nothing: {new}\n{shown}"
    else:
        inputs = [p for p in changed if not p.startswith(OUTPUTS)]
        assert not inputs, f"inputs changed or removed by the run: {inputs}\n{shown}"
        new = sorted({*new, *changed} & set(after))
    assert not (set(_outside()) - outside), "written outside tmp_path"
    pwned = [str(p) for p in tmp_path.rglob("PWNED")] + [
        str(p) for p in (REPO / "PWNED", Path.cwd() / "PWNED") if p.exists()
    ]
    assert not pwned, f"an injected command ran: {pwned}"

    # outputs: no identifier, no injected text, no live spreadsheet formula
    secrets = {i for i in project.ids if len(i) >= 4}
    for rel in new:
        path = tmp_path / rel
        text = _output_text(path)
        for s in (*secrets, *case.forbidden):
            assert s not in text, f"{s!r} reached the output {rel}"
        if path.suffix in {".csv", ".json", ".txt", ".log"}:
            for s in case.forbidden_text:
                assert s not in text, f"{s!r} reached the output {rel}"
        if path.suffix == ".csv":
            live = _formula_cells(path)
            assert not live, f"spreadsheet formulas in {rel}: {live[:3]}"

    # reconciliation
    if case.command == "ingest" and code == 0 and (project.out / "manifest.json").is_file():
        m = result.manifest()
        s = m["summary"]
        assert s["rows_read"] == s["rows_kept"] + s["rows_quarantined"], s
        q = result.quarantine()
        cell_rules = {"unknown_value", "quarantined: unknown value"}
        row_level = [r for r in q if r["rule"] not in cell_rules]
        assert len(row_level) == s["rows_quarantined"], (row_level, s)
        for name, entry in m["inputs"].items():
            rec = entry["reconciliation"]
            assert rec["records"] == rec["kept"] + rec["quarantined"], (name, rec)
        for k, v in case.counts.items():
            assert s[k] == v, (k, s)
    elif case.counts and code == allowed[0] == 0:
        raise AssertionError(f"counts expected but no processed folder\n{shown}")
    if case.check is not None:
        case.check(result)
    return result


# --------------------------------------------------------------------------- file makers


def xlsx_bytes(
    sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]],
    *,
    hidden: Sequence[int] = (),
    merge: Sequence[tuple[int, str]] = (),
) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for i, (title, rows) in enumerate(sheets):
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(list(r))
        if i in hidden:
            ws.sheet_state = "hidden"
    for i, ref in merge:
        wb.worksheets[i].merge_cells(ref)
    if hidden:
        visible = next(i for i in range(len(sheets)) if i not in hidden)
        wb.active = visible
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rezip(data: bytes, edit: Callable[[str, bytes], bytes]) -> bytes:
    """The zip ``data`` with every entry passed through ``edit(name, content)``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, edit(info.filename, src.read(info.filename)))
    return out.getvalue()


def sav_bytes(tmp: Path, frame: Any, **kwargs: Any) -> bytes:
    import pyreadstat

    path = tmp / "scratch.sav"
    pyreadstat.write_sav(frame, str(path), **kwargs)
    data = path.read_bytes()
    path.unlink()
    return data


QUALTRICS_META = ["StartDate", "EndDate", "Status", "Progress", "Duration (in seconds)"]
QUALTRICS_META += ["Finished", "RecordedDate", "ResponseId"]


def qualtrics_text(rows: Sequence[Sequence[Any]], statuses: Sequence[str]) -> str:
    """A Qualtrics CSV export (three header rows) of ``rows`` (in :data:`HEADER` order),
    each with its ``Status`` ("IP Address", "Survey Preview", "Survey Test", "Spam")."""
    columns = [*QUALTRICS_META, "sid", "group", *WHO5]
    labels = [*QUALTRICS_META, "Student ID", "Group", *[f"WHO-5 item {i}" for i in range(1, 6)]]
    import_ids = [
        *[f'{{"ImportId":"{n}"}}' for n in ("startDate", "endDate", "status", "progress")],
        '{"ImportId":"duration"}',
        '{"ImportId":"finished"}',
        '{"ImportId":"recordedDate"}',
        '{"ImportId":"_recordId"}',
        '{"ImportId":"QID1_TEXT"}',
        '{"ImportId":"QID2"}',
        *[f'{{"ImportId":"QID3_{i}"}}' for i in range(1, 6)],
    ]
    body = []
    for j, (r, status) in enumerate(zip(rows, statuses, strict=True)):
        when = str(r[2])
        meta = [when, when, status, 100, 300, "True", when, f"R_{j:015d}"]
        body.append([*meta, r[0], r[1], *r[3:]])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in (columns, labels, import_ids, *body):
        w.writerow(row)
    return buf.getvalue()
