"""Population stability index (PSI) against a stored training baseline.

PSI = sum((a - e) * ln(a / e)) over bins, with ``e``/``a`` the expected (baseline) and actual
proportions. Bins are quantiles of the baseline plus one bin for missing values. Common reading:
< 0.1 stable, 0.1-0.2 moderate shift, > 0.2 significant shift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

EPSILON = 1e-4


@dataclass(frozen=True)
class BinnedDistribution:
    """Inner bin edges and the proportion per bin (last bin = missing values)."""

    edges: list[float]
    proportions: list[float]

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-friendly form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, list[float]]) -> BinnedDistribution:
        """Inverse of :meth:`to_dict`."""
        return cls(edges=list(data["edges"]), proportions=list(data["proportions"]))


def _proportions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    missing = ~np.isfinite(values)
    counts = np.bincount(
        np.searchsorted(edges, values[~missing], side="right"), minlength=len(edges) + 1
    ).astype(np.float64)
    counts = np.append(counts, missing.sum())
    total = counts.sum()
    return counts / total if total > 0 else counts


def fit_baseline(values: np.ndarray, n_bins: int = 10) -> BinnedDistribution:
    """Quantile bins of the baseline sample (duplicate edges from discrete values merged)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        edges = np.array([], dtype=np.float64)
    else:
        quantiles = np.quantile(finite, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
        edges = np.unique(quantiles)
    return BinnedDistribution(
        edges=edges.tolist(), proportions=_proportions(values, edges).tolist()
    )


def psi(baseline: BinnedDistribution, actual_values: np.ndarray) -> float:
    """PSI of ``actual_values`` against ``baseline`` (0 for identical distributions)."""
    expected = np.asarray(baseline.proportions, dtype=np.float64)
    actual = _proportions(actual_values, np.asarray(baseline.edges, dtype=np.float64))
    if actual.sum() == 0:
        raise ValueError("no values to compare with the baseline")
    expected = np.clip(expected, EPSILON, None)
    actual = np.clip(actual, EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def population_stability_index(
    expected_values: np.ndarray, actual_values: np.ndarray, n_bins: int = 10
) -> float:
    """PSI between two samples, binning on the quantiles of ``expected_values``."""
    return psi(fit_baseline(expected_values, n_bins), actual_values)
