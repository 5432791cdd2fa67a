"""Matplotlib figures logged as MLflow artifacts (headless Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def feature_importance_figure(names: list[str], gains: np.ndarray) -> Figure:
    """Horizontal bar chart of LightGBM gain importance, largest on top."""
    order = np.argsort(gains)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.barh([names[i] for i in order], np.asarray(gains)[order], color="#2f6f9f")
    ax.set_xlabel("total gain")
    ax.set_title("Feature importance (gain)")
    fig.tight_layout()
    return fig


def residuals_figure(y_true: np.ndarray, y_pred: np.ndarray, title: str) -> Figure:
    """Residuals against predictions, and predictions against actual fares."""
    residuals = np.asarray(y_true) - np.asarray(y_pred)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.scatter(y_pred, residuals, s=4, alpha=0.4)
    left.axhline(0.0, color="black", linewidth=0.8)
    left.set_xlabel("predicted fare")
    left.set_ylabel("actual - predicted")
    left.set_title("Residuals")
    right.scatter(y_true, y_pred, s=4, alpha=0.4)
    upper = float(np.nanmax([np.nanmax(y_true), np.nanmax(y_pred), 1.0]))
    right.plot([0, upper], [0, upper], color="black", linewidth=0.8)
    right.set_xlabel("actual fare")
    right.set_ylabel("predicted fare")
    right.set_title("Predicted vs actual")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
