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


def test_a_challenger_better_by_noise_is_not_promoted(holdout) -> None:
    """1e-9 better is not better: the minimum gain over the champion (default 1 %) decides."""
    noise_better = holdout["y"] + (holdout["good"] - holdout["y"]) * (1 - 1e-9)
    result = run_gate(
        holdout["y"], noise_better, holdout["baseline"], holdout["good"], COLUMNS, COLUMNS
    )
    assert result.metrics["challenger_vs_champion_rmse"] < result.metrics["champion_rmse"]
    assert checks(result)["better_than_champion"] is False
    assert not result.passed


def test_minimum_gain_over_the_champion(holdout) -> None:
    better_by_3_percent = holdout["y"] + (holdout["good"] - holdout["y"]) * 0.97
    default = run_gate(
        holdout["y"], better_by_3_percent, holdout["baseline"], holdout["good"], COLUMNS, COLUMNS
    )
    demanding = run_gate(
        holdout["y"], better_by_3_percent, holdout["baseline"], holdout["good"], COLUMNS, COLUMNS,
        GateConfig(min_gain_over_champion=0.05),
    )  # fmt: skip
    assert default.passed, default.to_markdown()
    assert not demanding.passed
    assert "minimum gain 5.0%" in next(
        ch.detail for ch in demanding.checks if ch.name == "better_than_champion"
    )


def test_the_champion_is_compared_only_on_rows_after_its_training_end(holdout) -> None:
    """Rows the champion trained on flatter it: the comparison leaves them out."""
    y = holdout["y"]
    champion = holdout["good"].copy()
    seen = np.zeros(len(y), dtype=bool)
    seen[:600] = True
    champion[seen] = y[seen]  # perfect on the rows it was trained on
    challenger = y + (holdout["good"] - y) * 0.9  # 10 % better everywhere else
    everything = run_gate(y, challenger, holdout["baseline"], champion, COLUMNS, COLUMNS)
    unseen_only = run_gate(
        y, challenger, holdout["baseline"], champion, COLUMNS, COLUMNS,
        comparable=~seen, comparable_since="2024-03-04",
    )  # fmt: skip
    assert not everything.passed  # the champion looks better on rows it memorised
    assert unseen_only.passed, unseen_only.to_markdown()
    assert unseen_only.metrics["comparison_rows"] == 400


def test_too_few_rows_after_the_champions_training_end_reject(holdout) -> None:
    comparable = np.zeros(len(holdout["y"]), dtype=bool)
    comparable[:50] = True
    result = run_gate(
        holdout["y"], holdout["good"] * 0.5 + holdout["y"] * 0.5, holdout["baseline"],
        holdout["good"], COLUMNS, COLUMNS, comparable=comparable,
    )  # fmt: skip
    assert checks(result)["better_than_champion"] is False
    assert "only 50 holdout rows" in result.failed_checks[0].detail


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
    assert result.metrics["challenger_vs_champion_rmse"] == result.metrics["champion_rmse"]
    assert checks(result)["better_than_champion"] is False
    assert not result.passed


def test_default_minimum_gain_is_one_percent() -> None:
    assert GateConfig().min_gain_over_champion == 0.01
