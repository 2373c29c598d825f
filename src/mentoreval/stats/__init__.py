"""Statistics that match R: the ``compare`` stage of the data flow (scores → results).

One module per statistical idea; every function takes data first and returns tidy
DataFrames (or a small frozen result with ``.to_frame()``). Defaults follow R and each
table names its formula or method. See ``docs/architecture.md``.
"""

from mentoreval.stats._common import to_prepost
from mentoreval.stats.change import classify_change, jacobson_truax_cutoff, summarise_change
from mentoreval.stats.controlled import Ancova, compare_balance, fit_ancova
from mentoreval.stats.cutoffs import compare_bands, mcnemar_test
from mentoreval.stats.effsize import d_ppc2, hedges_j, paired_effect_sizes, rank_biserial_paired
from mentoreval.stats.equivalence import (
    JZS_MEDIUM,
    TOST_COLUMNS,
    bayes_factor_t,
    tost,
    tost_independent,
    tost_paired,
)
from mentoreval.stats.meta import Pooled, pool_effects
from mentoreval.stats.mixed import MixedModel, fit_mixed
from mentoreval.stats.multiplicity import adjust_pvalues
from mentoreval.stats.multiwave import MultiWave, fit_multiwave
from mentoreval.stats.paired import (
    COMPARISON_COLUMNS,
    compare_pair,
    compare_paired,
    wilcoxon_paired,
)
from mentoreval.stats.power import minimum_detectable_effect, plan_sample_size, power_t
from mentoreval.stats.reliability import Reliability, fit_reliability, fit_reliability_many
from mentoreval.stats.unlinked import (
    UNLINKED_CAVEAT,
    UNLINKED_COLUMNS,
    GroupByWave,
    compare_independent,
    compare_unlinked,
    fit_group_by_wave,
    mann_whitney,
    rank_biserial_independent,
)

__all__ = [
    "COMPARISON_COLUMNS",
    "JZS_MEDIUM",
    "TOST_COLUMNS",
    "UNLINKED_CAVEAT",
    "UNLINKED_COLUMNS",
    "Ancova",
    "GroupByWave",
    "MixedModel",
    "MultiWave",
    "Pooled",
    "Reliability",
    "adjust_pvalues",
    "bayes_factor_t",
    "classify_change",
    "compare_balance",
    "compare_bands",
    "compare_independent",
    "compare_pair",
    "compare_paired",
    "compare_unlinked",
    "d_ppc2",
    "fit_ancova",
    "fit_group_by_wave",
    "fit_mixed",
    "fit_multiwave",
    "fit_reliability",
    "fit_reliability_many",
    "hedges_j",
    "jacobson_truax_cutoff",
    "mann_whitney",
    "mcnemar_test",
    "minimum_detectable_effect",
    "paired_effect_sizes",
    "plan_sample_size",
    "pool_effects",
    "power_t",
    "rank_biserial_independent",
    "rank_biserial_paired",
    "summarise_change",
    "to_prepost",
    "tost",
    "tost_independent",
    "tost_paired",
    "wilcoxon_paired",
]
