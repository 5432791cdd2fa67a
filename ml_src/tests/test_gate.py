from __future__ import annotations

import json

import numpy as np
import pytest

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.gate import DistanceBucketBaseline, GateConfig, run_gate

COLUMNS = list(c.MODEL_FEATURES)


@pytest.fixture(scope="module")
def holdout() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    distance = rng.lognormal(0.5, 0.7, size=2_000)
    fare = 2.5 + 2.5 * distance + rng.normal(0, 1.0, size=2_000)
    baseline = DistanceBucketBaseline(n_buckets=4).fit(distance[:1000], fare[:1000])
    return {
        "y": fare[1000:],
        "good": fare[1000:] + rng.normal(0, 0.5, size=1000),  # RMSE ~0.5
        "worse": fare[1000:] + rng.normal(0, 3.0, size=1000),  # RMSE ~3
        "baseline": baseline.predict(distance[1000:]),
    }


def checks(result) -> dict[str, bool]:
    return {ch.name: ch.passed for ch in result.checks}


def test_good_model_passes(holdout) -> None:
    result = run_gate(holdout["y"], holdout["good"], holdout["baseline"], None, COLUMNS, COLUMNS)
    assert result.passed, result.to_markdown()
    assert result.metrics["challenger_rmse"] < 0.6
    assert result.metrics["baseline_rmse"] > 1.0
    assert checks(result)["better_than_champion"]  # no champion yet


def test_model_worse_than_champion_is_rejected(holdout) -> None:
    result = run_gate(
        holdout["y"], holdout["worse"], holdout["baseline"], holdout["good"], COLUMNS, COLUMNS
    )
    assert not result.passed
    assert checks(result)["better_than_champion"] is False
    assert "better_than_champion" in [ch.name for ch in result.failed_checks]
    assert result.metrics["champion_rmse"] < result.metrics["challenger_rmse"]


def test_champion_tolerance(holdout) -> None:
    slightly_worse = holdout["good"] + 0.05
    strict = run_gate(
        holdout["y"], slightly_worse, holdout["baseline"], holdout["good"], COLUMNS, COLUMNS,
        GateConfig(champion_tolerance=0.0),
    )  # fmt: skip
    lenient = run_gate(
        holdout["y"], slightly_worse, holdout["baseline"], holdout["good"], COLUMNS, COLUMNS,
        GateConfig(champion_tolerance=0.10),
    )  # fmt: skip
    assert not strict.passed
    assert lenient.passed


def test_model_not_beating_baseline_is_rejected(holdout) -> None:
    result = run_gate(
        holdout["y"], holdout["baseline"], holdout["baseline"], None, COLUMNS, COLUMNS
    )
    assert checks(result)["beats_baseline"] is False
    assert not result.passed


def test_nan_predictions_are_rejected(holdout) -> None:
    preds = holdout["good"].copy()
    preds[::50] = np.nan
    result = run_gate(holdout["y"], preds, holdout["baseline"], None, COLUMNS, COLUMNS)
    assert not result.passed
    assert checks(result)["predictions_finite"] is False
    assert "20 of 1000" in next(
        ch.detail for ch in result.checks if ch.name == "predictions_finite"
    )
    report = json.loads(result.to_json())  # strict JSON even with NaN metrics
    assert report["metrics"]["challenger_rmse"] is None


def test_out_of_range_predictions_are_rejected(holdout) -> None:
    preds = holdout["good"].copy()
    preds[0] = -5.0
    result = run_gate(holdout["y"], preds, holdout["baseline"], None, COLUMNS, COLUMNS)
    assert checks(result)["predictions_in_range"] is False
    assert not result.passed


def test_schema_mismatch_is_rejected(holdout) -> None:
    result = run_gate(
        holdout["y"], holdout["good"], holdout["baseline"], None, COLUMNS, COLUMNS[::-1]
    )
    assert checks(result)["schema_matches"] is False
    assert not result.passed


def test_markdown_report_lists_every_check(holdout) -> None:
    result = run_gate(holdout["y"], holdout["good"], holdout["baseline"], None, COLUMNS, COLUMNS)
    md = result.to_markdown()
    assert md.startswith("# Validation gate: PASSED")
    for ch in result.checks:
        assert f"| {ch.name} | pass |" in md


def test_distance_bucket_baseline() -> None:
    distance = np.array([1.0, 1.0, 5.0, 5.0])
    fare = np.array([5.0, 7.0, 20.0, 22.0])
    baseline = DistanceBucketBaseline(n_buckets=2).fit(distance, fare)
    np.testing.assert_allclose(baseline.predict(np.array([0.5, 1.0, 4.0, 9.0])), [6, 6, 21, 21])


def test_equal_metrics_are_not_promoted(holdout) -> None:
    # An identical model (same predictions as the champion) is not an improvement.
    result = run_gate(
        holdout["y"], holdout["good"], holdout["baseline"], holdout["good"], COLUMNS, COLUMNS
    )
    assert result.metrics["challenger_rmse"] == result.metrics["champion_rmse"]
    assert checks(result)["better_than_champion"] is False
    assert not result.passed


def test_default_gate_has_no_regression_tolerance() -> None:
    assert GateConfig().champion_tolerance == 0.0


def test_slightly_better_challenger_passes(holdout) -> None:
    better = holdout["y"] + (holdout["good"] - holdout["y"]) * 0.99
    result = run_gate(holdout["y"], better, holdout["baseline"], holdout["good"], COLUMNS, COLUMNS)
    assert result.metrics["challenger_rmse"] < result.metrics["champion_rmse"]
    assert result.passed, result.to_markdown()
