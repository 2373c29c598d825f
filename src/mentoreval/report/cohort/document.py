"""The notebook-facing cohort report: loads the written results and shows them, one call a cell.

Report stage (how it is shown). The template (``notebooks/templates/cohort_report.ipynb``) calls
:func:`open_cohort_report` and then one ``show_*`` method per section; the kernel does no
statistics, it only reads ``results.json`` (every table at full precision) and ``figures/``.
Numbers are formatted by the reports' one policy, :mod:`mentoreval.report.numbers`.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.formatting import FLAG_COLUMNS
from mentoreval.errors import DataError, Problem
from mentoreval.frames import iter_rows
from mentoreval.outputs import table_from_json
from mentoreval.report.cohort.arms import arms_note, likert_figures
from mentoreval.report.cohort.design_document import DESIGNS, METHODS_TEXT, show_design_outcomes
from mentoreval.report.cohort.figures import slug
from mentoreval.report.cohort.methods_text import PAIRED_METHODS_TEXT
from mentoreval.report.cohort.once_document import show_measured_once
from mentoreval.report.cohort.summary import SELF_SELECTION
from mentoreval.report.layout import figure_html, refs, table_caption
from mentoreval.report.sections import SectionedReport, ref_list, section
from mentoreval.report.tables import format_report_table, report_table_html

__all__ = ["CohortReport", "forest_caption", "open_cohort_report"]


_DOMAIN_TITLES = {
    "wellbeing": "Wellbeing", "burnout": "Burnout", "career": "Career confidence",
    "mentoring": "Mentoring quality", "other": "Other outcomes",
}  # fmt: skip


_DESIGN_WORDS = {
    "single_arm": "single group, pre/post",
    "comparison": "mentored vs a comparison group that chose not to join (not randomised)",
    "randomised": "randomised: mentored vs comparison group",
    "unlinked": "unlinked waves (independent samples)",
    "single_wave": "one wave",
}


def forest_caption(design: str) -> str:
    """The summary figure's caption: what is drawn, with the sign the text uses.

    Examples
    --------
    >>> forest_caption("single_arm")[:60]
    'Standardised change per scale (d_z, post − pre) with its con'
    """
    if design == "single_arm":
        return (
            "Standardised change per scale (d_z, post − pre) with its confidence interval, "
            "the same sign as the text; each row marks the side of the dashed line where "
            "its scale improves (for burnout, lower is better)."
        )
    return (
        "Mentored − comparison at follow-up, adjusted for baseline (ANCOVA), in baseline SDs "
        "with its confidence interval, the same sign as the text; each row marks the side "
        "of the dashed line where its scale improves (for burnout, lower is better)."
    )


def _adjusted_note(families: pd.DataFrame | None, results: Mapping[str, Any]) -> str:
    """The one sentence saying the primary judgements read the adjusted p-value.

    Examples
    --------
    >>> fam = pd.DataFrame({"family": ["primary", "primary", "exploratory"],
    ...                     "method": ["holm", "holm", "bh"], "n_tests": [2, 2, 1]})
    >>> _adjusted_note(fam, {"confidence": 0.95})
    '*For the primary outcomes the judgement also reads the Holm-adjusted p-value over the 2 primary outcomes: a result whose adjusted p is 0.05 or more is called consistent with no change.*'
    """
    if families is None or families.empty:
        return ""
    prim = families[families["family"].astype(str) == "primary"]
    if prim.empty or str(prim["method"].iloc[0]) == "none":
        return ""
    method = {"holm": "Holm", "bh": "Benjamini–Hochberg", "bonferroni": "Bonferroni"}.get(
        str(prim["method"].iloc[0]), str(prim["method"].iloc[0])
    )
    alpha = 1 - float(results.get("confidence", 0.95))
    return (
        f"*For the primary outcomes the judgement also reads the {method}-adjusted p-value "
        f"over the {int(prim['n_tests'].iloc[0])} primary outcomes: a result whose adjusted "
        f"p is {alpha:.2g} or more is called consistent with no change.*"
    )


class CohortReport(SectionedReport):
    """The saved results of one cohort, shown section by section in the report notebook.

    Each ``show_*`` method displays Markdown, tables and figures in the notebook and
    returns ``None``, so a cell calling it leaves no stray repr. Build it with
    :func:`open_cohort_report`.
    """

    def __init__(
        self, folder: Path, results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame]
    ):
        self.folder = folder
        self.results = results
        self.tables = tables
        d = results["disclosure"]
        self.policy = DisclosurePolicy(profile=d["profile"], k=d["k"], round_to=d.get("round_to"))
        self.confidence = float(results["confidence"])
        super().__init__()

    # -- building blocks (queueing and references: report.sections.SectionedReport)
    def _figure(self, name: str, caption: str | None = None) -> int | None:
        """Queue a numbered figure with its alternative text; its number, or ``None``."""
        entry = self.results["figures"].get(name)
        if not entry:
            return None
        number = self.numbers.figure()
        png = (self.folder / entry["png"]).read_bytes()
        alt = entry.get("alt") or f"Chart: {name.replace('_', ' ')}"
        self._emit("figure", figure_html(png, number=number, alt=alt, caption=caption))
        return number

    def _table(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        caption: str | None = None,
        decimals: int | None = None,
        ci: Mapping[str, tuple[str, str]] | None = None,
    ) -> int | None:
        """Queue a numbered table; its number, or ``None`` when there is nothing to show."""
        table = self.tables.get(name)
        if table is None or table.empty:
            return None
        t = table
        for k, v in (where or {}).items():
            t = t[t[k].astype(str) == str(v)]
        if t.empty:
            return None
        keep = [c for c in (columns or t.columns) if c in t.columns and c not in FLAG_COLUMNS]
        shown = t[[*keep, *(c for c in t.columns if c in FLAG_COLUMNS)]]
        text = format_report_table(
            shown, policy=self.policy, confidence=self.confidence, decimals=decimals, ci=ci
        )
        number = self.numbers.table()
        shown_caption = table_caption(number, caption or name.replace("_", " ").capitalize())
        self._emit("html", report_table_html(text, caption=shown_caption))
        return number

    def _scale_label(self, instrument: str, scale: str) -> str:
        s = self.tables["scales"]
        row = s[(s["instrument"] == instrument) & (s["scale"] == scale)]
        return str(row["label"].iloc[0]) if len(row) else f"{instrument} {scale}"

    # -- sections
    @section
    def show_title(self) -> None:
        """Title, cohort, design and (loudly) any disclosure notice."""
        r = self.results
        info = r.get("info") or {}
        design = info.get("design_words") or _DESIGN_WORDS.get(
            r["design"], "single group, pre/post"
        )
        design += ", retrospective pre-post (then-test)" if info.get("retrospective") else ""
        design += (
            ", anonymous, linked by self-generated codes" if info.get("linked_by_code") else ""
        )
        lines = [f"# {r['title']}", ""]
        facts = [
            f"Programme: {info.get('programme') or '–'}",
            f"cohort: {info.get('cohort') or '–'}",
            f"design: {design}",
            f"waves: {' → '.join(map(str, info.get('waves') or [info.get('pre'), info.get('post')]))}",
        ]
        lines.append(" · ".join(facts))
        for notice in r.get("notices", []):
            lines += ["", f"> **Note.** {notice}"]
        self._md("\n".join(lines))

    @section
    def show_summary(self) -> None:
        """Executive summary: 3–5 findings with n, change, effect size, CI and a judgement."""
        r = self.results
        info = r.get("info") or {}
        # one line per finding; its detail is in the outcome and comparison tables
        texts = r.get("headline_lines") or r.get("headline_text") or info.get("summary") or []
        bullets = [f"- {t}" for t in texts]
        if not bullets:
            bullets = ["- No outcome could be analysed."]
        intro = (
            f"What changed between the {info.get('pre')} and {info.get('post')} surveys, for the "
            "students who answered both. "
            "Each line gives the change in the scale's own units with its confidence "
            "interval, the number of students and what that means; the standardised change "
            "(d_z) is in section 3."
        )
        caption = forest_caption(r["design"])
        if r["design"] != "single_arm":
            group = info.get("group") or {}
            treated = group.get("treated") or "mentored"
            control = group.get("control") or "comparison"
            lead = (
                f"The programme's effect: {treated} compared with {control} students"
                if r["design"] == "randomised"
                else "Mentored students compared with students who did not join"
            )
            intro = (
                f"{lead} at follow-up, adjusted for their baseline scores (ANCOVA): each line "
                "gives the adjusted difference in the scale's own units with its confidence "
                "interval and the judgement, which reads it. The same comparison in baseline "
                "standard deviations, with d_ppc2, is in section 4; the mentored students' "
                "own change between the surveys is in section 3."
            )
        if r["design"] in DESIGNS:
            intro, caption = str(info.get("design_text") or ""), ""
        tail = [_adjusted_note(self.tables.get("multiplicity"), r)]
        cautions = (r.get("info") or {}).get("summary_caveats") or []
        if cautions:
            tail += ["", "**Read these results with care.**", ""]
            tail += [f"- **{c['title']}.** {c['text']}" for c in cautions]
        if r["design"] == "single_arm":
            tail.append(
                "\n*Without a comparison group these are changes over time, not effects of the "
                "programme (see the methods appendix).*"
            )
        number = self._figure("forest", caption)
        if number is not None:
            intro += f" {refs('Figure', [number])} shows every scale."
        self._md("\n".join([intro, "", *bullets, "", *tail]), at=0)

    @section
    def show_participation(self) -> None:
        """CONSORT-style flow, responses per wave and follow-up rates by group."""
        flow = self._figure(
            "consort", "Participant flow, from the responses received to the analysis"
        )
        note = self.tables.get("flow_note")
        if note is not None and len(note):
            self._md("*" + " ".join(str(n) for n in note["note"]) + "*")
        waves = self._table("participation", caption="Responses per wave")
        rates = self._table(
            "response_rates",
            caption="Follow-up by group (baseline students who answered the follow-up)",
        )
        said = [
            f"{refs('Figure', [flow])} follows the students from the responses received to "
            "those analysed"
            if flow
            else "",
            f"{refs('Table', [waves])} counts the responses per wave" if waves else "",
            f"{refs('Table', [rates])} the follow-up by group" if rates else "",
        ]
        if any(said):
            self._md("; ".join(t for t in said if t) + ".", at=0)

    @section
    def show_outcomes(self) -> None:
        """One subsection per outcome domain: figures, comparison table, bands, reliable
        change (reliability is in the methods appendix, item answers in their own)."""
        scales = self.tables["scales"]
        comp = self.tables["comparisons"]
        if self.results["design"] in DESIGNS:
            comp = self.tables["descriptives"]
        present = comp[["instrument", "scale"]].drop_duplicates()
        scales = scales.merge(present, on=["instrument", "scale"])
        by_group = "group" in comp.columns and comp["group"].notna().any()
        cols = [*(["group"] if by_group else []), "scale", "n_pairs", "mean_pre", "sd_pre",
                "mean_post", "sd_post", "mean_diff", "ci_low", "ci_high", "p_value", "p_adj",
                "d_z", "d_z_ci_low", "d_z_ci_high", "g_av", "wilcoxon_p", "rank_biserial",
                "bf10"]  # fmt: skip
        ci = {"mean_diff": ("ci_low", "ci_high"), "d_z": ("d_z_ci_low", "d_z_ci_high")}
        what = (
            "paired pre/post comparison within each group (mentored first; the comparison "
            "between the groups, adjusted for baseline, is in section 4)"
            if by_group
            else "paired pre/post comparison"
        )
        for domain in _DOMAIN_TITLES:
            in_domain = scales[scales["domain"] == domain]
            if in_domain.empty:
                continue
            self._md(f"### {_DOMAIN_TITLES[domain]}")
            for instrument in dict.fromkeys(in_domain["instrument"]):
                in_scales = in_domain[in_domain["instrument"] == instrument]
                self._instrument_outcomes(str(instrument), in_scales, cols, ci, what)
        if self.results["design"] not in DESIGNS:
            show_measured_once(self)

    def _instrument_outcomes(
        self,
        instrument: str,
        scales: pd.DataFrame,
        cols: Sequence[str],
        ci: Mapping[str, tuple[str, str]],
        what: str,
    ) -> None:
        """One instrument's figures and tables, introduced by a sentence naming them."""
        title = str(self.tables["instruments"].set_index("instrument").at[instrument, "title"])
        self._md(f"#### {title}")
        if show_design_outcomes(self, instrument, title):
            return
        lead_at = self._mark()
        labels = dict(zip(scales["scale"], scales["label"], strict=True))
        dist = [self._figure(slug("prepost", instrument, s), f"{labels[s]}: scores at each "
                             "wave, students who answered both surveys") for s in scales["scale"]]  # fmt: skip
        paired = self._table("comparisons", columns=cols, where={"instrument": instrument},
                             caption=f"{title}: {what}", ci=ci)  # fmt: skip
        bands: list[int | None] = []
        apart = arms_note(self.tables.get("bands"))
        for scale in scales["scale"]:
            name = slug("bands", instrument, scale)
            # a chart with nothing to draw is left out; its table says what is hidden
            bands.append(self._figure(name, f"{labels[scale]}: students per score band{apart}")
                         if name in self.results["figures"] else None)  # fmt: skip
            bands.append(self._table("bands", where={"instrument": instrument, "scale": scale},
                        columns=["group", "band", "n_pairs", "n_pre", "prop_pre", "n_post",
                                 "prop_post", "n_entered", "n_left", "p_value"],
                        caption=f"{labels[scale]}: band shifts (students with both waves"
                        f"{apart}; McNemar test per band)"))  # fmt: skip
        change = self._table("change", where={"instrument": instrument},
                             columns=["group", "scale", "n_pairs", "improved", "unchanged",
                                      "deteriorated", "recovered"],
                             caption=f"{title}: reliable change (Jacobson–Truax)"
                             f"{arms_note(self.tables.get('change'))}")  # fmt: skip
        said = [
            (ref_list(dist, "Figure"), "scores at each wave"),
            (ref_list([paired], "Table"), "the paired comparison"),
            (ref_list(bands[0::2], "Figure", bands[1::2]), "the score bands"),
            (ref_list([change], "Table"), "reliable change"),
        ]
        parts = [f"{what_} ({where})" for where, what_ in said if where]
        if any(n.startswith(slug("likert", instrument)) for n in self.results["figures"]):
            parts.append("the answers to each item in the item answers appendix")
        if parts:
            text = ", ".join(parts)
            self._md(text[:1].upper() + text[1:] + ".", at=lead_at)

    @section
    def show_items(self) -> None:
        """Appendix: the answers to each item of each instrument, at each wave."""
        instruments = self.tables["instruments"].set_index("instrument")["title"]
        shown = False
        for instrument, title in instruments.items():
            at = self._mark()
            numbers = [self._figure(name, f"{title}: answers per item at each wave{who}.")
                       for name, who in likert_figures(self.results["figures"], str(instrument))]  # fmt: skip
            number = next((n for n in numbers if n is not None), None)
            if number is not None:
                self._md(f"### {title}", at=at)
                self._refer(at + 1, numbers, "shows how the students answered each item",
                            kind="Figure")  # fmt: skip
                shown = True
        if not shown:
            self._md("No item-level chart could be shown without revealing small counts.")

    @section
    def show_comparison_group(self) -> None:
        """Balance, ANCOVA adjusted means, mixed model and sensitivity analyses."""
        if self.results["design"] in DESIGNS:
            self._md(
                "The comparison of the groups, where there is one, is shown with each outcome "
                "in section 3: the surveys cannot be linked (or there is one wave), so no "
                "baseline-adjusted analysis is possible."
            )
            return
        if self.results["design"] == "single_arm":
            self._md(
                "This evaluation has **no comparison group** (single-arm design), so no "
                "between-group analysis is possible. The changes above may reflect the "
                "programme, the passage of the academic year, or regression to the mean."
            )
            return
        g = (self.results.get("info") or {}).get("group") or {}
        self._md(
            f"Mentored students (*{g.get('treated')}*) compared with the comparison group "
            f"(*{g.get('control')}*). Differences are mentored minus comparison, at follow-up, "
            "adjusted for the baseline score."
        )
        lead_at, marks = self._mark(), [self.numbers.tables]
        bal_cols = ["variable", "level", "n_treated", "n_control", "mean_treated",
                    "mean_control", "smd"]  # fmt: skip
        self._table("balance_participants", columns=bal_cols,
                    caption="Baseline balance of the students (covariates; standardised "
                    "differences above 0.1 deserve attention)")  # fmt: skip
        bal = self.tables.get("balance")
        if bal is not None and len(bal):
            base = bal[bal["variable"].astype(str) == "pre"].copy()
            base["scale"] = [self._scale_label(i, s) for i, s in zip(base["instrument"],
                             base["scale"], strict=True)]  # fmt: skip
            self.tables = {**self.tables, "balance_baseline": base}
            self._table("balance_baseline", columns=["scale", "n_treated", "n_control",
                        "mean_treated", "mean_control", "smd"],
                        caption="Baseline score per scale, mentored vs comparison")  # fmt: skip
        self._table("adjusted_means", columns=["instrument", "scale", "group", "n", "emmean", "se",
                                               "ci_low", "ci_high"], ci={"emmean": ("ci_low", "ci_high")},
                    caption="ANCOVA adjusted means at follow-up")  # fmt: skip
        base_cols = ["instrument", "scale", "n_treated", "n_control", "estimate", "se",
                     "ci_low", "ci_high", "p_value", "p_adj"]  # fmt: skip
        est_ci = {"estimate": ("ci_low", "ci_high")}
        self._table("ancova", columns=base_cols, ci=est_ci,
                    caption="ANCOVA: adjusted difference at follow-up (mentored − comparison)")  # fmt: skip
        self._table("mixed", columns=base_cols, ci=est_ci,
                    caption="Linear mixed model: difference in change (Satterthwaite df)")  # fmt: skip
        marks.append(self.numbers.tables)
        self._md("**Sensitivity analyses**")
        self._table("imputation", columns=base_cols, ci=est_ci,
                    caption="Multiple imputation of missing follow-up scores")  # fmt: skip
        self._table("ipw", columns=base_cols, ci=est_ci, caption="Inverse-probability weighting")
        self._table("d_ppc2", columns=["instrument", "scale", "n_treated", "n_control", "value",
                                       "ci_low", "ci_high"], ci={"value": ("ci_low", "ci_high")},
                    caption="d_ppc2: standardised difference in change (Morris 2008)")  # fmt: skip
        self._table("attrition", columns=["instrument", "scale", "group", "n_baseline",
                                          "n_completed", "attrition"],
                    caption="Attrition by group (share of baseline students without a follow-up)")  # fmt: skip
        marks.append(self.numbers.tables)
        said = [(refs("Table", range(a + 1, b + 1)), what) for (a, b), what in zip(
            itertools.pairwise(marks), ("balance and the adjusted comparisons",
                                        "sensitivity analyses and attrition"), strict=True)]  # fmt: skip
        parts = [f"{what} ({where})" for where, what in said if where]
        if parts:
            self._md("Baseline " + " and ".join(parts) + ".", at=lead_at)

    @section
    def show_exploratory(self) -> None:
        """Subgroups and dose, labelled exploratory."""
        self._md(
            "**Exploratory.** These analyses were not pre-specified as primary; they are "
            "unadjusted for multiple testing and can suggest questions, not answer them."
        )
        at, numbers = self._mark(), []
        sub = self.tables.get("subgroups")
        if sub is not None and len(sub):
            numbers.append(self._table("subgroups", columns=["instrument", "scale", "variable",
                                       "level", "n_pairs", "mean_diff", "ci_low", "ci_high",
                                       "d_z", "d_z_ci_low", "d_z_ci_high"],
                                       ci={"mean_diff": ("ci_low", "ci_high"),
                                           "d_z": ("d_z_ci_low", "d_z_ci_high")},
                                       caption="Change in the primary outcomes by subgroup"))  # fmt: skip
        for name, caption in (("dose", "Dose (meetings) and follow-up score"),
                              ("moderation", "Moderators of the group effect")):  # fmt: skip
            if name in self.tables and len(self.tables[name]):
                numbers.append(self._table(name, caption=caption))
        self._refer(at, numbers, "gives these analyses")
        shown = any(n is not None for n in numbers)
        if not shown:
            self._md("No subgroup or dose information was available for this study.")

    @section
    def show_methods(self) -> None:
        """Instruments and citations, scoring rules, reliability, tests and formulas,
        multiplicity, caveats."""
        self._md("### Instruments")
        at = self._mark()
        listed = self._table(
            "instruments", columns=["title", "version", "domain", "items", "citation", "licence"],
            caption="Instruments: version, source and licence",
        )  # fmt: skip
        self._refer(at, [listed], "lists each instrument with its version, source and licence")
        self._md("### Scoring rules")
        at = self._mark()
        rules = self._table("scales", columns=["label", "method", "n_items", "min_answered", "range_low",
                                       "range_high", "bands"], caption="Scoring rule per scale")  # fmt: skip
        self._refer(at, [rules], "gives how each scale is scored and its published bands")
        rel = self.tables.get("reliability")
        if rel is not None and len(rel):
            # a property of the measures, not a result: here, not among the outcomes
            self._md("### Reliability")
            at = self._mark()
            labelled = rel.assign(scale=[self._scale_label(i, s) for i, s in zip(
                rel["instrument"], rel["scale"], strict=True)])  # fmt: skip
            self.tables = {**self.tables, "reliability_by_scale": labelled}
            rel_no = self._table("reliability_by_scale", columns=["group", "scale", "wave", "n_complete", "n_items",
                        "alpha", "alpha_ci_low", "alpha_ci_high", "omega_total"],
                        ci={"alpha": ("alpha_ci_low", "alpha_ci_high")},
                        caption=f"Reliability of each scale at each wave{arms_note(rel)}")  # fmt: skip
            self._refer(at, [rel_no], "gives each scale's internal consistency at each wave")
        p = self.policy
        disclosure = (
            p.warning
            if p.warning
            else f"Every published number rests on at least {p.threshold} distinct students "
            f"(profile '{p.profile}'); smaller cells, cells that would reveal them through a "
            f"total, and 0 %/100 % groups are shown as \u201c{p.label}\u201d. Figures show "
            "no individual points, lines, minima, maxima or outliers."
        )
        info = self.results.get("info") or {}
        text = METHODS_TEXT if self.results["design"] in DESIGNS else PAIRED_METHODS_TEXT
        self._md("### Tests and effect sizes\n\n" + text.format(
            conf=f"{self.confidence:.0%}", method=info.get("multiplicity", "holm"),
            disclosure=disclosure))  # fmt: skip
        at = self._mark()
        families = self._table("multiplicity", caption="Multiplicity families")
        self._refer(at, [families], "lists which scales were adjusted together, and how")
        self._md("### Design caveats")
        cav = self.tables.get("caveats")
        lines = []
        if self.results["design"] == "single_arm":
            lines.append(
                "- **Single-arm design.** Without a comparison group, what the programme did "
                "cannot be separated from change over time."
            )
        elif self.results["design"] == "comparison":
            lines.append(f"- **Not randomised.** {SELF_SELECTION}")
        if cav is not None and len(cav) and "title" in cav.columns:
            for row in iter_rows(cav):
                if row.caveat == "single_arm" and self.results["design"] == "single_arm":
                    continue  # stated above
                lines.append(f"- **{row.title}.** {row.detail}")
        self._md("\n".join(lines) if lines else "No design caveat applies.")

    @section
    def show_data_quality(self) -> None:
        """Linkage, duplicates, quality flags, item missingness, quarantine by reason."""
        numbers = [
            self._table(
                "linkage",
                caption="Linkage of baseline and follow-up responses",
                columns=["measure", "n", "percent"],
            ),
            self._table("quality_flags", caption="Quality flags (flagged responses are kept)"),
            self._table("missingness", caption="Item missingness per instrument and wave"),
            self._table("quarantine", caption="Rows and answers set aside, by reason"),
        ]
        self._refer(0, numbers, "gives the linkage of the surveys, the quality flags, the "
                    "missing answers and every row set aside, with the reason")  # fmt: skip

    @section
    def show_provenance(self) -> None:
        """Package versions, git commit, input sha256, parameters and key fingerprint."""
        path = self.folder / "manifest.json"
        manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        lines = [
            f"- Created: {manifest.get('created_at', '–')}",
            f"- Git commit: `{manifest.get('git_commit') or 'not in a git repository'}`",
            f"- Key fingerprint: `{manifest.get('key_fingerprint') or '–'}`",
            f"- Python {manifest.get('python', '–')}",
        ]
        pkgs = manifest.get("packages") or {}
        if pkgs:
            lines.append("- Packages: " + ", ".join(f"{k} {v}" for k, v in pkgs.items() if v))
        lines.append("\n**Inputs**\n")
        lines += [f"- `{i['name']}` sha256 `{i['sha256']}`" for i in manifest.get("inputs", [])]
        params = manifest.get("parameters") or {}
        if params:
            lines.append("\n**Parameters**\n")
            lines += [f"- {k}: `{v}`" for k, v in sorted(params.items())]
        self._md("\n".join(lines))


def open_cohort_report(output_dir: str | os.PathLike[str]) -> CohortReport:
    """Load the results written by :func:`write_cohort_outputs` for display: every table
    at full precision from ``results.json`` (the ``tables/*.csv`` are rounded for pasting).

    Examples
    --------
    >>> report = open_cohort_report("reports/demo")  # doctest: +SKIP
    >>> report.show_summary()  # doctest: +SKIP
    """
    folder = Path(output_dir)
    path = folder / "results.json"
    if not path.is_file():
        raise DataError(
            f"{path}: results not found",
            (Problem("no results.json", file=str(path), fix="run `mentoreval report STUDY`"),),
        )
    results = json.loads(path.read_text(encoding="utf-8"))
    data = results.get("table_data")
    if data is None:
        raise DataError(
            f"{path}: written by an older mentoreval (no full-precision tables)",
            (Problem("no table_data", file=str(path), fix="run `mentoreval report STUDY` again"),),
        )
    tables = {name: table_from_json(table) for name, table in data.items()}
    return CohortReport(folder, results, tables)
