from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.drift import fit_baseline, population_stability_index, psi
from taxi_fare_mlops.monitoring import MonitoringConfig, evaluate_drift


def test_identical_distributions_have_psi_near_zero() -> None:
    rng = np.random.default_rng(1)
    a = rng.lognormal(0.5, 0.7, 20_000)
    b = rng.lognormal(0.5, 0.7, 20_000)
    assert population_stability_index(a, a) == pytest.approx(0.0, abs=1e-9)
    assert population_stability_index(a, b) < 0.01


def test_shifted_distribution_crosses_threshold() -> None:
    rng = np.random.default_rng(2)
    a = rng.lognormal(0.5, 0.7, 20_000)
    assert population_stability_index(a, a * 1.1) < 0.2
    assert population_stability_index(a, a * 1.6) > 0.2


def test_missing_values_have_their_own_bin() -> None:
    base = fit_baseline(np.array([1.0, 2.0, 3.0, 4.0] * 100))
    with_missing = np.array([1.0, 2.0, np.nan, np.nan] * 100)
    assert base.proportions[-1] == 0.0
    assert psi(base, with_missing) > 0.2


def test_discrete_feature() -> None:
    weekend = np.array([0] * 70 + [1] * 30, dtype=float)
    assert population_stability_index(weekend, weekend) == pytest.approx(0.0, abs=1e-9)
    assert population_stability_index(weekend, np.ones(100)) > 0.2


def profile_for(frame: pd.DataFrame, rmse: float) -> dict:
    return {
        "features": {name: fit_baseline(frame[name].to_numpy()).to_dict() for name in ["x"]},
        "prediction": fit_baseline(frame[c.PREDICTION].to_numpy()).to_dict(),
        "holdout_rmse": rmse,
    }


def test_evaluate_drift_signals_retrain_on_shift_and_rmse() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(10, 2, 5_000)
    label = x * 2
    train = pd.DataFrame({"x": x, c.PREDICTION: label + rng.normal(0, 1, 5_000)})
    profile = profile_for(train, rmse=1.0)
    config = MonitoringConfig(psi_threshold=0.2, max_rmse_increase=0.25)

    same = train.assign(**{c.LABEL: label})
    stable = evaluate_drift(profile, same, config)
    assert not stable.retrain
    assert stable.rmse == pytest.approx(1.0, abs=0.05)

    shifted = same.assign(x=same["x"] + 3)
    drifted = evaluate_drift(profile, shifted, config)
    assert drifted.retrain
    assert drifted.feature_psi["x"] > 0.2
    assert any("PSI(x)" in reason for reason in drifted.reasons)

    degraded = same.assign(**{c.PREDICTION: same[c.PREDICTION] + rng.normal(0, 2, 5_000)})
    result = evaluate_drift(profile, degraded.assign(**{c.LABEL: label}), config)
    assert result.retrain
    assert any(reason.startswith("RMSE=") for reason in result.reasons)


def test_evaluate_drift_without_labels_and_too_few_rows() -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=500), c.PREDICTION: rng.normal(size=500)})
    profile = profile_for(frame, rmse=1.0)
    result = evaluate_drift(profile, frame.assign(**{c.LABEL: np.nan}), MonitoringConfig())
    assert result.rmse is None and result.labeled_rows == 0
    few = evaluate_drift(profile, frame.head(10).assign(**{c.LABEL: 1.0}), MonitoringConfig())
    assert few.skipped and not few.retrain
    assert few.reasons == ["skipped: 10 scored rows, need at least 100"]


def _weekday_profile(rng: np.random.Generator) -> tuple[dict, pd.DataFrame]:
    n = 5_000
    base = pd.DataFrame(
        {
            "x": rng.normal(10, 2, n),
            c.DROPOFF_IS_WEEKEND: (rng.random(n) < 2 / 7).astype(float),
            c.PREDICTION: rng.normal(20, 5, n),
        }
    )
    profile = {
        "features": {
            name: fit_baseline(base[name].to_numpy()).to_dict()
            for name in ["x", c.DROPOFF_IS_WEEKEND]
        },
        "prediction": fit_baseline(base[c.PREDICTION].to_numpy()).to_dict(),
        "holdout_rmse": 1.0,
    }
    return profile, base


def test_weekend_only_window_does_not_trigger_retrain() -> None:
    rng = np.random.default_rng(5)
    profile, base = _weekday_profile(rng)
    saturday = base.sample(800, random_state=1).assign(**{c.DROPOFF_IS_WEEKEND: 1.0, c.LABEL: None})
    result = evaluate_drift(profile, saturday, MonitoringConfig())
    # The weekend flag's PSI is huge, as it should be on a Saturday...
    assert result.feature_psi[c.DROPOFF_IS_WEEKEND] > 0.2
    # ...but the calendar is not drift: no retrain, and no reason names it.
    assert not result.retrain, result.reasons
    assert not any(c.DROPOFF_IS_WEEKEND in reason for reason in result.reasons)


def test_calendar_feature_is_recorded_but_not_a_breach() -> None:
    from taxi_fare_mlops.monitoring import metric_rows
    from taxi_fare_mlops.windows import Window

    rng = np.random.default_rng(6)
    profile, base = _weekday_profile(rng)
    saturday = base.sample(800, random_state=2).assign(**{c.DROPOFF_IS_WEEKEND: 1.0, c.LABEL: None})
    config = MonitoringConfig()
    result = evaluate_drift(profile, saturday, config)
    rows = metric_rows(result, config, "m", "1", Window())
    weekend = [r for r in rows if r[5] == "psi" and r[6] == c.DROPOFF_IS_WEEKEND]
    assert len(weekend) == 1
    assert weekend[0][7] > 0.2 and weekend[0][8] is None and weekend[0][9] is False
    assert "calendar feature" in weekend[0][10]


def test_rmse_uses_only_labelled_rows_and_needs_enough_of_them() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(10, 2, 2_000)
    frame = pd.DataFrame({"x": x, c.PREDICTION: x * 2})
    profile = profile_for(frame, rmse=1.0)
    labels = np.full(2_000, np.nan)
    labels[:50] = x[:50] * 2 + 5.0  # 50 labelled rows, each off by 5
    result = evaluate_drift(profile, frame.assign(**{c.LABEL: labels}), MonitoringConfig())
    assert result.labeled_rows == 50
    assert result.rmse == pytest.approx(5.0)  # unlabelled rows do not dilute it
    assert not result.retrain  # 50 < min_labeled_rows: too few to act on
    enough = evaluate_drift(
        profile, frame.assign(**{c.LABEL: labels}), MonitoringConfig(min_labeled_rows=50)
    )
    assert enough.retrain and enough.reasons[0].startswith("RMSE=5.000")


def test_window_without_traffic_is_skipped() -> None:
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"x": rng.normal(size=500), c.PREDICTION: rng.normal(size=500)})
    profile = profile_for(frame, rmse=1.0)
    empty = frame.head(0).assign(**{c.LABEL: []})
    result = evaluate_drift(profile, empty, MonitoringConfig())
    assert result.skipped and not result.retrain and result.rows == 0
