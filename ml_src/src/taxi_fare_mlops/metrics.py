"""Regression metrics that tolerate (and report) non-finite predictions."""

from __future__ import annotations

import numpy as np


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R2. Any NaN or infinite prediction makes every metric NaN."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"shapes differ or empty: {y_true.shape} vs {y_pred.shape}")
    if not np.all(np.isfinite(y_pred)):
        return {"rmse": float("nan"), "mae": float("nan"), "r2": float("nan")}
    error = y_pred - y_true
    ss_res = float(np.sum(error**2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
    }
