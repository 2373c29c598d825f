"""The methods appendix of a paired (pre/post) cohort report, in words.

Report stage (how it is shown); filled by
:meth:`~mentoreval.report.cohort.document.CohortReport.show_methods`. :func:`bf_reading`
is the paragraph on the Bayes factor column (:mod:`mentoreval.report.cohort.bayes`), of
every design's methods text. Text only: the report kernel imports it.
"""

__all__ = ["BF_LABEL", "PAIRED_METHODS_TEXT", "bf_reading"]

#: The column's label in a report table.
BF_LABEL = "BF₁₀ (JZS, r = 0.707)"


def bf_reading(test: str, source: str, what: str = "change", note: str = "") -> str:
    """The methods text's paragraph on the Bayes factor column: ``test`` is the t test,
    ``source`` the published numbers it is computed from, ``what`` the effect it weighs.

    Examples
    --------
    >>> bf_reading("paired t test", "the t and number of pairs").split(" (JZS prior")[0]
    '**Bayes factors.** BF₁₀ (JZS, r = 0.707) is a default-prior Bayes factor of the paired t test'
    """
    return (
        f"**Bayes factors.** {BF_LABEL} is a default-prior Bayes factor of the {test} (JZS "
        "prior: a Cauchy distribution of scale r = √2/2 on the standardised effect; Rouder "
        f"et al. 2009; as R's `BayesFactor::ttestBF`), computed from {source} the tables "
        f"publish.{' ' + note if note else ''} BF₁₀ > 3: the data favour a {what}; < 1/3: "
        f"they favour no {what}; between: inconclusive (Jeffreys 1961, in the wording of "
        "Lee & Wagenmakers 2013: 3–10 moderate, above 10 strong evidence, and likewise below "
        "1/3 and 1/10)."
    )


#: ``{conf}``, ``{method}`` and ``{disclosure}`` are filled in by the report.
PAIRED_METHODS_TEXT = (
    """\
**Paired comparisons.** For each scale, students with a score at both waves form the
pairs. The mean change is post − pre with a t-based {conf} confidence interval (paired t
test, as R's `t.test(post, pre, paired = TRUE)`); the Wilcoxon signed-rank test (R's
`wilcox.test`, exact for n < 50 without ties) and the matched-pairs rank-biserial
correlation are reported alongside.

**Effect sizes.** d_z = mean change / SD of the changes, with a noncentral-t CI;
d_av = mean change / mean of the pre and post SDs; g_av = d_av × J(n − 1) (Hedges'
small-sample correction). The summary's judgements read d_z and its CI against 0.2
(small), 0.5 (moderate) and 0.8 (large), in the direction in which the scale improves.

**Bands.** Shares of students in each published band at both waves, compared with
McNemar's test per band (continuity-corrected); in a comparison design
each group is described on its own, as are item answers, reliable change and reliability.
**Measures taken once** (asked at one survey only) are described at that wave: n, mean,
SD and the t-based CI of the mean. **Reliability.** Cronbach's α (Feldt CI)
and McDonald's ω total at each wave. **Reliable change.** Jacobson–Truax RCI with the
published reliability of the scale.

**Comparison group** (when present). Baseline balance as standardised mean differences;
ANCOVA of the follow-up score on baseline, group and covariates with adjusted (estimated
marginal) means; a linear mixed model (random intercept per student, Satterthwaite df)
using every available score; sensitivity analyses: multiple imputation of missing
follow-up scores (m imputations, Rubin's rules), inverse-probability weighting, and d_ppc2
(Morris 2008).

**Multiplicity.** Primary outcomes: {method} adjustment across the primary scales; all
other scales are exploratory, adjusted by Benjamini–Hochberg. Subgroups and dose are
exploratory and unadjusted.

"""
    + bf_reading("paired t test", "the t and the number of pairs")
    .replace("{", "{{")
    .replace("}", "}}")
    + """

**Disclosure control.** {disclosure}"""
)
