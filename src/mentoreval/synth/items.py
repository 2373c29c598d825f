"""Latent scores → item answers, and the expected scale score a latent distribution implies.

Stage: *test data*. Each instrument is modelled as a graded (ordinal probit) measurement
model:

- its items are grouped into **factors**: the smallest scales with two or more items that
  hold no smaller such scale (CBI personal/work/client, the four CAAS subscales, one factor
  for WHO-5). A composite scale (CAAS total) is the mean of its factors' items; a single-item
  scale (career-confidence specialty) belongs to the factor that contains its item;
- a respondent has one latent score ``theta`` per factor, oriented like the scale score
  (higher ``theta`` → higher score after reverse keying);
- item ``j`` has a response propensity ``y* = s_j * loading_j * theta + sqrt(1 - loading_j**2) * e``
  with ``e ~ N(0, 1)`` and ``s_j = -1`` for reverse-keyed items, so reverse-keyed items
  correlate negatively with the others before keying. Reverse-keyed (negatively worded)
  items load more weakly (x0.8), as they do in real data;
- the answer is the number of item thresholds ``y*`` exceeds, read as the position on the
  item's response scale in ascending code order. Thresholds put the population's average
  answer near a realistic location for medical students (e.g. WHO-5 around 52/100, CBI
  personal around 50), with a fixed small jitter per item.

Because ``y*`` is normal, the probability of each answer given a normal latent
distribution has a closed form, which :func:`expected_scale_score` uses to compute the
*expected observed score* exactly (no Monte Carlo); lookup-table transforms (SWEMWBS) are
integrated with Gauss-Hermite quadrature over the latent score.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.special import ndtr

from mentoreval.instruments.definitions import Instrument, Scale, load_instrument

__all__ = [
    "ItemModel",
    "draw_items",
    "expected_scale_score",
    "item_model",
]

#: Standardised loading of a positively worded item, per instrument (sets reliability).
LOADINGS: dict[str, float] = {
    "who5": 0.78,
    "swemwbs": 0.72,
    "cbi": 0.75,
    "olbi": 0.66,
    "pss10": 0.64,
    "caas_sf": 0.74,
    "career_confidence": 0.68,
    "mes": 0.74,
}
_DEFAULT_LOADING = 0.7
#: Loadings of reverse-keyed items are multiplied by this.
REVERSE_LOADING_FACTOR = 0.8
#: Average keyed answer at the population mean, as a fraction of the response range
#: (factor id ``instrument.scale`` or instrument id). Typical medical-student values.
LOCATIONS: dict[str, float] = {
    "who5": 0.52,
    "swemwbs": 0.55,
    "cbi.personal": 0.50,
    "cbi.work": 0.45,
    "cbi.client": 0.32,
    "olbi.exhaustion": 0.50,
    "olbi.disengagement": 0.43,
    "pss10": 0.45,
    "caas_sf": 0.68,
    "career_confidence": 0.57,
    "mes": 0.76,
}
_DEFAULT_LOCATION = 0.5
_JITTER = 0.05
_GH_NODES = 48


@dataclass(frozen=True, eq=False)
class ItemModel:
    """The measurement model of one instrument (see the module docstring).

    Attributes
    ----------
    instrument
        The instrument definition.
    items
        Item ids in definition order.
    factors
        Factor ids, ``"<instrument>.<scale>"``.
    factor_higher_is_better
        Per factor: does a higher score mean better (wellbeing) or worse (burnout)?
    item_factor
        Per item, the index of its factor.
    loading
        Per item, the standardised loading (positive; the sign is in ``sign``).
    sign
        Per item, ``-1`` for reverse-keyed items, else ``+1``.
    thresholds
        Items × (max categories - 1) thresholds on ``y*``, padded with ``+inf``.
    codes
        Items × max categories: response codes in ascending order, padded with NaN.
    n_categories
        Per item, the number of response categories.
    """

    instrument: Instrument
    items: tuple[str, ...]
    factors: tuple[str, ...]
    factor_higher_is_better: tuple[bool, ...]
    item_factor: np.ndarray
    loading: np.ndarray
    sign: np.ndarray
    thresholds: np.ndarray
    codes: np.ndarray
    n_categories: np.ndarray

    def factor_of_scale(self, scale_id: str) -> list[int]:
        """Indices of the factors whose items make up scale ``scale_id``."""
        scale = self.instrument.scale(scale_id)
        idx = [self.items.index(i) for i in scale.items]
        return sorted({int(self.item_factor[j]) for j in idx})


def _factor_scales(inst: Instrument) -> list[Scale]:
    multi = [s for s in inst.scales if len(s.items) >= 2]
    return [s for s in multi if not any(o is not s and set(o.items) < set(s.items) for o in multi)]


@cache
def _item_model_cached(instrument_id: str) -> ItemModel:
    return _build_model(load_instrument(instrument_id))


def item_model(instrument: Instrument | str) -> ItemModel:
    """The measurement model of an instrument (cached for shipped instruments by id).

    Examples
    --------
    >>> m = item_model("caas_sf")
    >>> m.factors
    ('caas_sf.concern', 'caas_sf.control', 'caas_sf.curiosity', 'caas_sf.confidence')
    >>> item_model("olbi").sign[:3].tolist()
    [1.0, -1.0, -1.0]
    """
    if isinstance(instrument, str):
        return _item_model_cached(instrument)
    return _build_model(instrument)


def _build_model(inst: Instrument) -> ItemModel:
    items = tuple(inst.item_ids)
    leaves = _factor_scales(inst)
    factor_of: dict[str, int] = {}
    factors: list[str] = []
    better: list[bool] = []
    for s in leaves:
        fid = f"{inst.id}.{s.id}"
        for i in s.items:
            if i not in factor_of:
                if fid not in factors:
                    factors.append(fid)
                    better.append(s.higher_is_better)
                factor_of[i] = factors.index(fid)
    for i in items:  # items outside every multi-item scale get their own factor
        if i not in factor_of:
            owner = next((s for s in inst.scales if i in s.items), None)
            fid = f"{inst.id}.{owner.id if owner else i}"
            if fid not in factors:
                factors.append(fid)
                better.append(owner.higher_is_better if owner else True)
            factor_of[i] = factors.index(fid)

    n_items = len(items)
    k_max = max(len(rs.codes) for rs in inst.response_scales.values())
    base = LOADINGS.get(inst.id, _DEFAULT_LOADING)
    loading = np.empty(n_items)
    sign = np.empty(n_items)
    thresholds = np.full((n_items, k_max - 1), np.inf)
    codes = np.full((n_items, k_max), np.nan)
    n_cat = np.empty(n_items, dtype=np.int64)
    for j, item_id in enumerate(items):
        item = inst.item(item_id)
        rs = inst.response_scales[item.response_scale]
        k = len(rs.codes)
        n_cat[j] = k
        codes[j, :k] = np.sort(np.asarray(rs.codes, dtype=float))
        sign[j] = -1.0 if item.reverse else 1.0
        loading[j] = base * (REVERSE_LOADING_FACTOR if item.reverse else 1.0)
        fid = factors[factor_of[item_id]]
        loc = LOCATIONS.get(fid, LOCATIONS.get(inst.id, _DEFAULT_LOCATION))
        # A fixed per-item jitter (from the item id, not the cohort seed) so items differ.
        jitter = np.random.default_rng(zlib.crc32(f"{inst.id}/{item_id}".encode())).normal()
        keyed_mean = (loc + _JITTER * jitter) * (k - 1)
        raw_mean = (k - 1) - keyed_mean if item.reverse else keyed_mean
        spread = (k - 1) / 4.0
        thresholds[j, : k - 1] = (np.arange(k - 1) + 0.5 - raw_mean) / spread
    return ItemModel(
        instrument=inst,
        items=items,
        factors=tuple(factors),
        factor_higher_is_better=tuple(better),
        item_factor=np.array([factor_of[i] for i in items], dtype=np.int64),
        loading=loading,
        sign=sign,
        thresholds=thresholds,
        codes=codes,
        n_categories=n_cat,
    )


def draw_items(model: ItemModel, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw item answers (codes) for respondents with latent scores ``theta``.

    Parameters
    ----------
    model
        The instrument's measurement model.
    theta
        Respondents × factors latent scores, oriented like the scale scores.
    rng
        The random generator.

    Returns
    -------
    numpy.ndarray
        Respondents × items, the stored code of each answer (before reverse keying).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> m = item_model("who5")
    >>> x = draw_items(m, rng.standard_normal((4, 1)), rng)
    >>> x.shape, bool(np.isin(x, [0, 1, 2, 3, 4, 5]).all())
    ((4, 5), True)
    """
    theta = np.asarray(theta, dtype=float)
    n = theta.shape[0]
    noise_sd = np.sqrt(1.0 - model.loading**2)
    y = theta[:, model.item_factor] * (model.sign * model.loading)
    y += rng.standard_normal((n, len(model.items))) * noise_sd
    cat = np.zeros(y.shape, dtype=np.int64)
    for k in range(model.thresholds.shape[1]):  # a few categories, vectorised over people
        cat += y > model.thresholds[:, k]
    return model.codes[np.arange(len(model.items)), cat]


def _item_category_probs(model: ItemModel, j: int, mean: np.ndarray, sd: float) -> np.ndarray:
    """P(answer category = c) for item j when theta ~ N(mean, sd**2); shape (len(mean), k)."""
    k = int(model.n_categories[j])
    lam, s = model.loading[j], model.sign[j]
    scale = np.sqrt(1.0 - lam**2 + lam**2 * sd**2)
    tau = model.thresholds[j, : k - 1]
    upper = ndtr((s * lam * np.asarray(mean)[:, None] - tau[None, :]) / scale)  # P(cat > c)
    ones = np.ones((upper.shape[0], 1))
    cum = np.concatenate([ones, upper, np.zeros_like(ones)], axis=1)  # P(cat >= c)
    return cum[:, :-1] - cum[:, 1:]


def expected_scale_score(
    model: ItemModel,
    scale_id: str,
    components: Sequence[tuple[np.ndarray, np.ndarray]],
) -> float:
    """The expected observed score of a scale when latent scores follow normal mixtures.

    Parameters
    ----------
    model
        The instrument's measurement model.
    scale_id
        The scale to score.
    components
        One ``(weights, means)`` pair per factor of ``model``: theta for that factor is a
        mixture of ``N(mean, 1)`` with those weights (they sum to 1). Means are oriented
        like the scale scores.

    Returns
    -------
    float
        ``E[score]`` for a complete answer set under the item model: exact for mean/sum
        scales with linear transforms, Gauss-Hermite quadrature (48 nodes) for lookup
        tables.

    Examples
    --------
    >>> m = item_model("who5")
    >>> low = expected_scale_score(m, "total", [(np.array([1.0]), np.array([0.0]))])
    >>> high = expected_scale_score(m, "total", [(np.array([1.0]), np.array([0.5]))])
    >>> 40 < low < 65 and high > low
    True
    """
    inst = model.instrument
    scale = inst.scale(scale_id)
    idx = [model.items.index(i) for i in scale.items]
    lookup = scale.transform.lookup if scale.transform is not None else None
    if lookup is None:
        total = 0.0
        for j in idx:
            w, mu = components[int(model.item_factor[j])]
            probs = _item_category_probs(model, j, mu, 1.0)
            k = int(model.n_categories[j])
            codes = model.codes[j, :k]
            raw = float(np.asarray(w) @ (probs @ codes))
            if model.sign[j] < 0:
                raw = codes[0] + codes[-1] - raw
            total += raw
        value = total / len(idx) if scale.method == "mean" else total
        if scale.transform is not None and scale.transform.linear is not None:
            value = value * scale.transform.linear.multiply + scale.transform.linear.add
        return float(value)

    factors = {int(model.item_factor[j]) for j in idx}
    if len(factors) != 1:
        raise NotImplementedError("a lookup-table scale spanning several factors")
    w, mu = components[factors.pop()]
    nodes, gh_w = np.polynomial.hermite_e.hermegauss(_GH_NODES)
    gh_w = gh_w / gh_w.sum()
    keys = np.array(sorted(lookup), dtype=np.int64)
    table = np.array([lookup[int(k)] for k in keys], dtype=float)
    expected = 0.0
    for weight, mean in zip(np.asarray(w), np.asarray(mu), strict=True):
        theta = mean + nodes
        # distribution of the keyed raw sum at each node, by convolving item distributions
        dist = np.ones((len(theta), 1))
        offset = 0
        for j in idx:
            k = int(model.n_categories[j])
            codes = model.codes[j, :k]
            if not np.allclose(codes, np.round(codes)) or not np.allclose(np.diff(codes), 1):
                raise NotImplementedError("lookup tables need consecutive integer codes")
            probs = _item_category_probs(model, j, theta, 0.0)
            if model.sign[j] < 0:
                probs = probs[:, ::-1]
            offset += int(codes[0])
            new = np.zeros((len(theta), dist.shape[1] + k - 1))
            for c in range(k):
                new[:, c : c + dist.shape[1]] += dist * probs[:, [c]]
            dist = new
        sums = offset + np.arange(dist.shape[1])
        values = table[np.searchsorted(keys, sums)]
        expected += float(weight) * float(gh_w @ (dist @ values))
    return expected
