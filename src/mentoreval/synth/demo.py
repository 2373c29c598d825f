"""The committed demo set under ``data/demo/`` (stage: *test data*).

Two programmes — peer and faculty mentoring — over three yearly cohorts (2023, 2024,
2025), about 470 students in all, each cohort exported in a different survey tool's
format, with meeting logs, one ``study.yaml`` per cohort, a provisional ``annual.yaml`` per
programme and a ``batch.yaml`` listing the jobs. Everything is synthetic and generated
deterministically by :func:`build_demo`; a test checks that the committed files equal a
fresh build byte for byte. Regenerate with::

    python -m mentoreval.synth.demo [OUT_DIR]      # default: data/demo

No key file is ever written here: the configs name ``../../demo.key`` and ``make demo`` /
``mentoreval demo`` point ``MENTOREVAL_KEY_FILE`` at a key generated outside the
repository.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mentoreval.synth.cohort import CohortSpec, SyntheticCohort, generate_cohort
from mentoreval.synth.writers import study_config, write_exports, write_study_config

__all__ = ["DEMO_STUDIES", "DemoStudy", "build_demo", "demo_hashes", "main"]

KEY_FILE = "../../demo.key"
_KEY_COMMENT = (
    "key_file is a path, never a key. `make demo` and `mentoreval demo` set\n"
    "MENTOREVAL_KEY_FILE to a key generated outside the repository, which overrides it.\n"
    "Never commit a *.key file."
)

_PEER = CohortSpec(
    programme="peer",
    instruments=("who5", "cbi", "career_confidence"),
    effects={"who5": 0.3, "cbi": 0.25, "career_confidence": 0.35},
    secular_trend=-0.15,
    mentor_types={"peer": 0.75, "near-peer": 0.25},
    mentor_type_modifiers={"near-peer": 1.2},
    dose_slope=0.04,
    team_rate=0.1,
    pre_post_r=0.6,
    item_nonresponse=0.02,
    straightliners=0.02,
    speeders=0.02,
    duplicates=0.03,
)
_FACULTY = CohortSpec(
    programme="faculty",
    instruments=("who5", "olbi", "caas_sf"),
    effects={"who5": 0.2, "olbi": 0.25, "caas_sf": 0.45},
    secular_trend=-0.1,
    mentor_types={"faculty": 0.6, "research": 0.2, "specialty": 0.15, "sponsor": 0.05},
    mentor_type_modifiers={"research": 0.8, "sponsor": 1.3},
    dose_slope=0.06,
    team_rate=0.25,
    pre_post_r=0.65,
    item_nonresponse=0.03,
    straightliners=0.015,
    speeders=0.015,
    duplicates=0.02,
)


@dataclass(frozen=True)
class DemoStudy:
    """One demo cohort: where it goes, how it is generated and exported."""

    folder: str
    spec: CohortSpec
    formats: Mapping[str, str] | tuple[str, ...]
    title: str
    note: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


DEMO_STUDIES: tuple[DemoStudy, ...] = (
    DemoStudy(
        "peer/2023",
        _PEER.replace(n_students=70, seed=2023_1, cohort="2023", year=2023, attrition=0.2),
        {"pre": "qualtrics", "post": "qualtrics", "meetings": "meetings"},
        "Peer mentoring, 2023 cohort",
        "Qualtrics CSV (numeric values), single arm",
    ),
    DemoStudy(
        "peer/2024",
        _PEER.replace(n_students=80, seed=2024_1, cohort="2024", year=2024, attrition=0.25),
        {"pre": "googleforms", "post": "googleforms", "meetings": "meetings"},
        "Peer mentoring, 2024 cohort",
        "Google Forms CSV (labels), single arm",
    ),
    DemoStudy(
        "peer/2025",
        _PEER.replace(
            n_students=140,
            seed=2025_1,
            cohort="2025",
            year=2025,
            design="comparison",
            baseline_smd=0.2,
            attrition=0.3,
            attrition_comparison=0.15,
            attrition_smd=0.3,
            values="labels",
            preview_rows=2,
            test_rows=3,
        ),
        {"pre": "qualtrics", "post": "qualtrics", "meetings": "meetings"},
        "Peer mentoring, 2025 cohort (with a comparison group)",
        "Qualtrics CSV (choice text) with preview/test rows; mentored vs comparison, "
        "self-selection and differential attrition",
    ),
    DemoStudy(
        "faculty/2023",
        _FACULTY.replace(n_students=60, seed=2023_2, cohort="2023", year=2023, attrition=0.2),
        ("redcap", "meetings"),
        "Faculty mentoring, 2023 cohort",
        "REDCap longitudinal export + data dictionary",
    ),
    DemoStudy(
        "faculty/2024",
        _FACULTY.replace(n_students=60, seed=2024_2, cohort="2024", year=2024, attrition=0.2),
        {"pre": "spss", "post": "csv", "meetings": "meetings"},
        "Faculty mentoring, 2024 cohort",
        "SPSS .sav at baseline, plain CSV at follow-up",
    ),
    DemoStudy(
        "faculty/2025",
        _FACULTY.replace(n_students=60, seed=2025_2, cohort="2025", year=2025, attrition=0.25),
        {"pre": "msforms", "post": "msforms", "meetings": "meetings"},
        "Faculty mentoring, 2025 cohort",
        "Microsoft Forms Excel exports",
    ),
)


def _readme(studies: tuple[DemoStudy, ...], cohorts: Mapping[str, SyntheticCohort]) -> str:
    lines = [
        "# Demo data (synthetic)",
        "",
        "**Every record here is synthetic.** No student, mentor or school is real: the data were",
        "generated by `mentoreval.synth` from a latent-variable model with known true effects.",
        "Names, e-mail addresses (`example.ac.uk`) and IP addresses (documentation ranges) are fake.",
        "",
        "Regenerate byte for byte with `python -m mentoreval.synth.demo` (a test checks that the",
        "committed files equal a fresh build). Run the whole pipeline on it with `make demo` or",
        "`mentoreval demo`; reports go to `reports/demo/`.",
        "",
        "The study configs name `key_file: ../../demo.key`; `make demo` sets `MENTOREVAL_KEY_FILE`",
        "to a key generated outside the repository. Never commit a `*.key` file.",
        "",
        "| study | students | mentored | exports | true latent effects (SD) |",
        "|---|---|---|---|---|",
    ]
    for s in studies:
        c = cohorts[s.folder]
        n_m = int((c.people["group"] == "mentored").sum())
        eff = ", ".join(f"{k} {v:+.2f}" for k, v in s.spec.effects.items())
        lines.append(f"| `{s.folder}` | {len(c.people)} | {n_m} | {s.note} | {eff} |")
    lines += [
        "",
        "Each study folder holds `study.yaml`, `exports/` (the survey exports and `meetings.csv`)",
        "and `truth.csv`: per scale and group, the expected observed score before and after and",
        "the true expected change (what a paired analysis estimates) — for checking the pipeline.",
        "`batch.yaml` lists every job; `<programme>/annual.yaml` (provisional shape) lists the",
        "cohorts of one programme for the annual report.",
        "",
        "`designs/` holds studies of other designs (`mentoreval.synth.multiwave`):",
        "`designs/waves-2025` has four linked waves (pre, mid, post, followup) with a comparison",
        "group; its `truth.csv` gives each group's expected score at each wave and the true",
        "change from baseline (what the multi-wave model estimates). It sets no programme or",
        "cohort, so it stays out of the annual reports. `designs/anonymous-2025` is an anonymous",
        "pre/post survey (no student id: the waves are compared as independent samples).",
        "`designs/post-only-2025` is surveyed once, after the programme, with a comparison group",
        "(the groups are described and compared at that one wave; no change statistics).",
        '`designs/then-test-2025` asks each WHO-5 item twice after the programme, "before the',
        'programme" (from memory) and "now" (`mentoreval.synth.thentest`: a retrospective',
        "pre-post with a known recall shift).",
        "`designs/sgic-2025` is an anonymous pre/post survey linked by self-generated codes",
        "(`mentoreval.synth.sgic`: six components, tolerance 1; a fifth of the returning",
        "students type one component differently after the programme, 1 in 10 two).",
        "`designs/randomised-2025` is a randomised pre/post study with a waitlist control",
        "(`analysis.design: randomised`: the only design whose report speaks of the",
        "programme's effect).",
        "",
    ]
    return "\n".join(lines)


def build_demo(path: str | Path) -> dict[str, Path]:
    """Build the demo set into ``path`` (created); return ``{relative name: path}``.

    Deterministic: the same package version writes the same bytes.

    Examples
    --------
    >>> import tempfile
    >>> files = build_demo(tempfile.mkdtemp())
    >>> print(*(k.split("/")[1] for k in sorted(files) if k.startswith("designs/")
    ...         and k.endswith(".yaml")))
    anonymous-2025 post-only-2025 randomised-2025 sgic-2025 then-test-2025 waves-2025
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    cohorts: dict[str, SyntheticCohort] = {}
    jobs: list[dict[str, str]] = []
    annual: dict[str, list[str]] = {}
    for s in DEMO_STUDIES:
        folder = root / s.folder
        cohort = generate_cohort(s.spec)
        cohorts[s.folder] = cohort
        exports = write_exports(cohort, folder / "exports", formats=s.formats)
        config = study_config(cohort, exports, config_dir=folder, title=s.title, key_file=KEY_FILE)
        written[f"{s.folder}/study.yaml"] = write_study_config(
            config,
            folder / "study.yaml",
            header=f"{s.title} — synthetic demo data.\n{_KEY_COMMENT}",
        )
        truth = cohort.truth.round(6)
        truth_path = folder / "truth.csv"
        truth.to_csv(truth_path, index=False, lineterminator="\n")
        written[f"{s.folder}/truth.csv"] = truth_path
        for p in exports.values():
            written[p.relative_to(root).as_posix()] = p
        name = s.folder.replace("/", "-")
        jobs.append({"kind": "cohort", "config": f"{s.folder}/study.yaml", "name": name})
        annual.setdefault(s.spec.programme, []).append(f"{s.folder.split('/')[1]}/study.yaml")
    written.update(_design_studies(root, jobs))
    for programme, studies in annual.items():
        p = root / programme / "annual.yaml"
        body = {
            "title": f"{programme.title()} mentoring: annual report",
            "programme": programme,
            "studies": studies,
            # the demo's own store (as `mentoreval demo` uses), never the user's data/store
            "store": "../../../reports/demo/store",
        }
        p.write_text(
            "# Provisional annual-report config: the cohorts of one programme, oldest first.\n"
            "# store: the demo's own store under reports/demo, never the project's data/store,\n"
            "# so `studies: all` in a real annual report never pools demo cohorts.\n"
            + yaml.safe_dump(body, sort_keys=False),
            encoding="utf-8",
        )
        written[f"{programme}/annual.yaml"] = p
        jobs.append(
            {"kind": "annual", "config": f"{programme}/annual.yaml", "name": f"{programme}-annual"}
        )
    batch = root / "batch.yaml"
    batch.write_text(
        "# Demo batch: every demo cohort, then one annual report per programme.\n"
        "# kind: cohort | annual; config: path relative to this file; name: output folder.\n"
        + yaml.safe_dump({"jobs": jobs}, sort_keys=False),
        encoding="utf-8",
    )
    written["batch.yaml"] = batch
    gitignore = root / ".gitignore"
    gitignore.write_text("# keys never live in the repository\n*.key\n", encoding="utf-8")
    written[".gitignore"] = gitignore
    readme = root / "README.md"
    readme.write_text(_readme(DEMO_STUDIES, cohorts), encoding="utf-8")
    written["README.md"] = readme
    return dict(sorted(written.items()))


def _design_studies(root: Path, jobs: list[dict[str, str]]) -> dict[str, Path]:
    """The demo studies of other designs (issue 17), each with its job: four linked waves
    with a comparison group (``designs/waves-2025``) and an anonymous (unlinked) pre/post
    survey with a comparison group (``designs/anonymous-2025``), a post-only survey with a
    comparison group (``designs/post-only-2025``), a retrospective pre-post
    (``designs/then-test-2025``), an anonymous pre/post survey linked by self-generated
    codes (``designs/sgic-2025``) and a randomised waitlist-controlled pre/post study
    (``designs/randomised-2025``). No programme or cohort:
    they stay out of the annual store."""
    from mentoreval.synth.multiwave import write_waves_study
    from mentoreval.synth.sgic import write_sgic_study
    from mentoreval.synth.thentest import write_then_test_study

    folder = "designs/waves-2025"
    config, _ = write_waves_study(
        root / folder, title="Multi-wave mentoring study, 2025 (four waves, synthetic)",
        key_file=KEY_FILE, n_students=160, seed=2025,
    )  # fmt: skip
    jobs.append({"kind": "cohort", "config": f"{folder}/study.yaml", "name": "waves-2025"})
    anonymous = "designs/anonymous-2025"
    write_waves_study(
        root / anonymous, title="Anonymous pre/post survey, 2025 (unlinked, synthetic)",
        key_file=KEY_FILE, n_students=140, seed=2026, waves=("pre", "post"),
        trajectory={"mentored": (0.0, 0.3), "comparison": (0.0, 0.05)}, retention=(1.0, 0.8),
        linked=False,
    )  # fmt: skip
    jobs.append({"kind": "cohort", "config": f"{anonymous}/study.yaml", "name": "anonymous-2025"})
    post_only = "designs/post-only-2025"
    write_waves_study(
        root / post_only, title="Post-only survey with a comparison group, 2025 (synthetic)",
        key_file=KEY_FILE, n_students=120, seed=2027, waves=("post",),
        trajectory={"mentored": (0.3,), "comparison": (0.0,)}, retention=(0.85,),
    )  # fmt: skip
    jobs.append({"kind": "cohort", "config": f"{post_only}/study.yaml", "name": "post-only-2025"})
    then_test = "designs/then-test-2025"
    write_then_test_study(root / then_test, n_students=80, seed=2028, key_file=KEY_FILE)
    jobs.append({"kind": "cohort", "config": f"{then_test}/study.yaml", "name": "then-test-2025"})
    sgic = "designs/sgic-2025"
    write_sgic_study(
        root / sgic, title="Anonymous pre/post survey linked by self-generated codes, 2025 "
        "(synthetic)", key_file=KEY_FILE, n_students=130, seed=2029,
    )  # fmt: skip
    jobs.append({"kind": "cohort", "config": f"{sgic}/study.yaml", "name": "sgic-2025"})
    randomised = "designs/randomised-2025"
    write_waves_study(
        root / randomised, title="Randomised waitlist-controlled study, 2025 (synthetic)",
        key_file=KEY_FILE, n_students=130, seed=2032, waves=("pre", "post"),
        trajectory={"mentored": (0.0, 0.35), "waitlist": (0.0, 0.05)}, retention=(1.0, 0.8),
        design="randomised",
    )  # fmt: skip
    jobs.append({"kind": "cohort", "config": f"{randomised}/study.yaml", "name": "randomised-2025"})
    return {
        p.relative_to(root).as_posix(): p
        for f in (folder, anonymous, post_only, then_test, sgic, randomised)
        for p in sorted((root / f).rglob("*"))
        if p.is_file()
    } | {f"{folder}/study.yaml": config}


def demo_hashes(path: str | Path) -> dict[str, str]:
    """sha256 of every file under ``path`` (relative POSIX name → hex digest).

    An ``.xlsx`` workbook is hashed by what it holds (sheet names, cell values and number
    formats), not by its bytes: openpyxl writes the same workbook with different XML
    spacing and namespace placement depending on whether lxml is installed.

    Examples
    --------
    >>> import tempfile
    >>> demo_hashes(tempfile.mkdtemp())
    {}
    """
    root = Path(path)
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(_content(p)).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _content(path: Path) -> bytes:
    if path.suffix.lower() != ".xlsx":
        return path.read_bytes()
    import openpyxl

    book = openpyxl.load_workbook(path)
    held = [
        (sheet.title, [[(c.value, c.number_format) for c in row] for row in sheet.iter_rows()])
        for sheet in book.worksheets
    ]
    return repr(held).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m mentoreval.synth.demo [OUT_DIR]``: (re)build the demo set."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path("data/demo")
    files = build_demo(out)
    total = sum(p.stat().st_size for p in files.values())
    print(f"wrote {len(files)} files ({total / 1024:.0f} KiB) to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
