from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.drift import fit_baseline, population_stability_index, psi
from taxi_fare_mlops.errors import PipelineError
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
    with pytest.raises(PipelineError, match="scored rows"):
        evaluate_drift(profile, frame.head(10).assign(**{c.LABEL: 1.0}), MonitoringConfig())
