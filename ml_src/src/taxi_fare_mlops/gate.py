"""The validation gate: pure decision logic over holdout predictions, plus its report.

A challenger passes when all checks pass:

* ``schema_matches``: the model's input columns are exactly the expected features, in order;
* ``predictions_finite``: no NaN or infinite prediction;
* ``predictions_in_range``: every prediction within ``[min_prediction, max_prediction]``;
* ``beats_baseline``: RMSE <= (1 - baseline_margin) * RMSE of the naive baseline;
* ``better_than_champion``: RMSE < (1 - min_gain_over_champion) * champion RMSE, strictly,
  both computed on the same holdout rows, and only on those picked up after the champion's
  own training window ended (rows the champion never saw; at least ``min_comparison_rows`` of
  them). Passes when there is no champion yet. The default minimum gain is 1 %: a challenger
  that is better by noise (1e-9) is not promoted, and quality cannot ratchet down.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from taxi_fare_mlops.metrics import regression_metrics


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the gate (all exposed on the command line)."""

    baseline_margin: float = 0.05
    min_gain_over_champion: float = 0.01
    """Relative RMSE improvement over the champion a challenger needs (0.01 = 1 %)."""
    min_comparison_rows: int = 100
    """Holdout rows after the champion's training end needed to compare the two at all."""
    min_prediction: float = 0.0
    max_prediction: float = 500.0


@dataclass(frozen=True)
class CheckResult:
    """One named check with a human-readable explanation."""

    name: str
    passed: bool
    detail: str


@dataclass
class GateResult:
    """The verdict, every check and the metrics they were based on."""

    passed: bool
    checks: list[CheckResult]
    metrics: dict[str, float | None] = field(default_factory=dict)
    context: dict[str, str] = field(default_factory=dict)

    @property
    def failed_checks(self) -> list[CheckResult]:
        """The checks that did not pass."""
        return [check for check in self.checks if not check.passed]

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form (NaN becomes null)."""
        return {
            "passed": self.passed,
            "checks": [asdict(check) for check in self.checks],
            "metrics": {k: _finite_or_none(v) for k, v in self.metrics.items()},
            "context": self.context,
        }

    def to_json(self) -> str:
        """Strict JSON (no NaN literals)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def to_markdown(self) -> str:
        """A short report for people: verdict, checks table, metrics table."""
        verdict = "PASSED" if self.passed else "REJECTED"
        lines = [f"# Validation gate: {verdict}", ""]
        lines += [f"- {key}: `{value}`" for key, value in sorted(self.context.items())]
        lines += ["", "| check | result | detail |", "| --- | --- | --- |"]
        lines += [
            f"| {ch.name} | {'pass' if ch.passed else 'FAIL'} | {ch.detail} |" for ch in self.checks
        ]
        lines += ["", "| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(self.metrics.items())]
        return "\n".join(lines) + "\n"


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _fmt(value: float | None) -> str:
    return "n/a" if _finite_or_none(value) is None else f"{value:.4f}"


class DistanceBucketBaseline:
    """Naive baseline: mean fare per trip-distance quantile bucket (global mean as fallback)."""

    def __init__(self, n_buckets: int = 10) -> None:
        self.n_buckets = n_buckets
        self.edges = np.array([], dtype=np.float64)
        self.means = np.array([], dtype=np.float64)
        self.global_mean = float("nan")

    def fit(self, distance: np.ndarray, fare: np.ndarray) -> DistanceBucketBaseline:
        """Learn bucket edges and per-bucket mean fares from training trips."""
        distance = np.asarray(distance, dtype=np.float64)
        fare = np.asarray(fare, dtype=np.float64)
        self.global_mean = float(np.mean(fare))
        quantiles = np.linspace(0.0, 1.0, self.n_buckets + 1)[1:-1]
        self.edges = np.unique(np.quantile(distance, quantiles))
        bucket = np.searchsorted(self.edges, distance, side="right")
        self.means = np.array(
            [
                fare[bucket == b].mean() if np.any(bucket == b) else self.global_mean
                for b in range(len(self.edges) + 1)
            ]
        )
        return self

    def predict(self, distance: np.ndarray) -> np.ndarray:
        """Mean fare of each trip's distance bucket."""
        bucket = np.searchsorted(self.edges, np.asarray(distance, dtype=np.float64), side="right")
        return self.means[bucket]


def run_gate(
    y_true: np.ndarray,
    challenger_pred: np.ndarray,
    baseline_pred: np.ndarray,
    champion_pred: np.ndarray | None,
    expected_columns: Sequence[str],
    model_columns: Sequence[str] | None,
    config: GateConfig | None = None,
    comparable: np.ndarray | None = None,
    comparable_since: str = "",
) -> GateResult:
    """Apply every check to the holdout predictions and return the verdict.

    ``comparable``: a boolean mask of the holdout rows the champion may be compared on (picked
    up after its training window, ``comparable_since``); default: every row.
    """
    config = config or GateConfig()
    challenger_pred = np.asarray(challenger_pred, dtype=np.float64)
    checks: list[CheckResult] = []

    expected, actual = list(expected_columns), list(model_columns or [])
    checks.append(
        CheckResult(
            "schema_matches",
            expected == actual,
            "model input columns match"
            if expected == actual
            else f"expected {expected}, model has {actual}",
        )
    )

    n_bad = int(np.sum(~np.isfinite(challenger_pred)))
    checks.append(
        CheckResult("predictions_finite", n_bad == 0, f"{n_bad} of {challenger_pred.size} NaN/inf")
    )

    finite = challenger_pred[np.isfinite(challenger_pred)]
    n_out = int(np.sum((finite < config.min_prediction) | (finite > config.max_prediction)))
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (math.nan, math.nan)
    checks.append(
        CheckResult(
            "predictions_in_range",
            n_out == 0 and finite.size > 0,
            f"{n_out} outside [{config.min_prediction}, {config.max_prediction}];"
            f" observed [{lo:.2f}, {hi:.2f}]",
        )
    )

    challenger = regression_metrics(y_true, challenger_pred)
    baseline = regression_metrics(y_true, baseline_pred)
    metrics: dict[str, float | None] = {f"challenger_{k}": v for k, v in challenger.items()}
    metrics |= {f"baseline_{k}": v for k, v in baseline.items()}

    limit = (1.0 - config.baseline_margin) * baseline["rmse"]
    checks.append(
        CheckResult(
            "beats_baseline",
            bool(challenger["rmse"] <= limit),
            f"RMSE {_fmt(challenger['rmse'])} vs limit {_fmt(limit)} "
            f"(baseline {_fmt(baseline['rmse'])}, margin {config.baseline_margin:.0%})",
        )
    )

    if champion_pred is None:
        checks.append(CheckResult("better_than_champion", True, "no champion to compare"))
    else:
        mask = (
            np.ones(len(challenger_pred), dtype=bool)
            if comparable is None
            else np.asarray(comparable, dtype=bool)
        )
        rows = int(mask.sum())
        metrics["comparison_rows"] = float(rows)
        since = f" after {comparable_since}" if comparable_since else ""
        if rows < config.min_comparison_rows:
            checks.append(
                CheckResult(
                    "better_than_champion",
                    False,
                    f"only {rows} holdout rows{since} (the champion's training end), need "
                    f"{config.min_comparison_rows}: nothing the champion has not seen to "
                    "compare on",
                )
            )
        else:
            y_cmp = np.asarray(y_true)[mask]
            champion = regression_metrics(y_cmp, np.asarray(champion_pred)[mask])
            mine = regression_metrics(y_cmp, challenger_pred[mask])
            metrics |= {f"champion_{k}": v for k, v in champion.items()}
            metrics |= {f"challenger_vs_champion_{k}": v for k, v in mine.items()}
            limit = (1.0 - config.min_gain_over_champion) * champion["rmse"]
            checks.append(
                CheckResult(
                    "better_than_champion",
                    bool(mine["rmse"] < limit),
                    f"RMSE {_fmt(mine['rmse'])} vs limit {_fmt(limit)} on {rows} rows{since} "
                    f"(champion {_fmt(champion['rmse'])}, minimum gain "
                    f"{config.min_gain_over_champion:.1%})",
                )
            )
    return GateResult(passed=all(ch.passed for ch in checks), checks=checks, metrics=metrics)
