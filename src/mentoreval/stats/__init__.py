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

__all__ = [
    "COMPARISON_COLUMNS",
    "Ancova",
    "MixedModel",
    "MultiWave",
    "Pooled",
    "Reliability",
    "adjust_pvalues",
    "classify_change",
    "compare_balance",
    "compare_bands",
    "compare_pair",
    "compare_paired",
    "d_ppc2",
    "fit_ancova",
    "fit_mixed",
    "fit_multiwave",
    "fit_reliability",
    "fit_reliability_many",
    "hedges_j",
    "jacobson_truax_cutoff",
    "mcnemar_test",
    "minimum_detectable_effect",
    "paired_effect_sizes",
    "plan_sample_size",
    "pool_effects",
    "power_t",
    "rank_biserial_paired",
    "summarise_change",
    "to_prepost",
    "wilcoxon_paired",
]
