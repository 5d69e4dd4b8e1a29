"""The environment every chapter reports first: versions, device, quick mode, seeds, paths."""

from __future__ import annotations

import os
import platform
import random
import sys
from importlib import metadata
from pathlib import Path

QUICK_ENV = "BERTLAB_QUICK"
ARTIFACTS_ENV = "BERTLAB_ARTIFACTS"


def quick_mode() -> bool:
    """Tell chapters whether to shrink their training (BERTLAB_QUICK=1, set by `make test`)."""
    return os.environ.get(QUICK_ENV, "0").strip().lower() in {"1", "true", "yes", "on"}


def pick(full: int | float, quick: int | float) -> int | float:
    """Return the quick-mode value when quick mode is on, else the full-mode value."""
    return quick if quick_mode() else full


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (when installed) so a chapter gives the same numbers."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def device() -> str:
    """Name the device chapters train on: 'cuda' when a GPU is visible, else 'cpu'."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def artifacts_dir() -> Path:
    """Where chapters save models for later chapters (BERTLAB_ARTIFACTS, else ./artifacts)."""
    default = Path(__file__).resolve().parent.parent / "artifacts"
    path = Path(os.environ.get(ARTIFACTS_ENV, default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment_report() -> dict[str, str]:
    """Collect what a learner should check before a chapter: versions, device, threads, mode."""
    report = {
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "bertlab": _version("bertlab"),
    }
    for package in ("torch", "numpy", "matplotlib", "ipywidgets", "transformers", "bertviz"):
        report[package] = _version(package)
    report["device"] = device()
    try:
        import torch

        report["cpu threads"] = str(torch.get_num_threads())
    except ImportError:  # pragma: no cover
        pass
    report["quick mode"] = "on (BERTLAB_QUICK=1)" if quick_mode() else "off (full mode)"
    return report


def show_environment() -> None:
    """Print the environment report as an aligned table at the top of a chapter."""
    report = environment_report()
    width = max(len(key) for key in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
