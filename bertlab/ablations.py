"""Ablations of the pretraining recipe (chapter 07): which of BERT's choices matter here.

Each run is the course model's own command with one recipe flag changed, from several seeds:

    OMP_NUM_THREADS=1 python -m bertlab.pretrain --preset long --eval-every 250 \\
        --weights-dtype float16 --no-progress [--objective sop|none | --masking static | \\
        --mask-prob 0.4] --seed N --output-dir artifacts/ablations/<recipe>-seedN
    python -m bertlab.ablations artifacts/ablations/<recipe>-seedN ...

The weights stay on the machine that made them. The second command measures transfer and
copies into the package what chapter 07 plots, one folder per run: evals.jsonl (every
held-out evaluation, fill-in per word class), steps.jsonl (every step's losses up to
PROVENANCE_STEPS, then every STEP_STRIDE-th), pretraining.json, transfer.json (sentiment on
held-out adjectives after fine-tuning on 100 and 200 labels) and manifest.json: the run's own
manifest (command, seed, commit, machine, times), with the sha256 of every file the run wrote,
weights included, under "run_files", and of the shipped files under "files".
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import shutil
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bertlab.course_model import COURSE_MODEL_DIR, file_digests, verify_manifest

ABLATIONS_DIR = Path(__file__).resolve().parent / "checkpoints" / "ablations"
PROVENANCE_STEPS = 150
STEP_STRIDE = 50
TRANSFER_LABELS = (100, 200)
TRANSFER_SEEDS = (0, 1, 2, 3, 4)
TRANSFER_TEST_REVIEWS = 300
COPYING_THRESHOLD = 0.15  # a class "is copied" from the first evaluation it never drops below this


@dataclass(frozen=True)
class Recipe:
    """One pretraining recipe: the flags that make it, what it is, and who proposed it."""

    name: str
    flags: tuple[str, ...]
    label: str
    paper: str
    settings: tuple[str, str, float]  # (objective, masking, mask_prob) as pretraining.json says


RECIPES = {
    "nsp": Recipe("nsp", (), "NSP (BERT; the course model)", "Devlin et al. 2019",
                  ("nsp", "dynamic", 0.15)),
    "sop": Recipe("sop", ("--objective", "sop"), "sentence order (ALBERT)", "Lan et al. 2020",
                  ("sop", "dynamic", 0.15)),
    "none": Recipe("none", ("--objective", "none"), "no sentence task, whole documents (RoBERTa)",
                   "Liu et al. 2019", ("none", "dynamic", 0.15)),
    "static": Recipe("static", ("--masking", "static"), "static masking (BERT's original)",
                     "Devlin et al. 2019; Liu et al. 2019", ("nsp", "static", 0.15)),
    "mask40": Recipe("mask40", ("--mask-prob", "0.4"), "40% masking", "Wettig et al. 2023",
                     ("nsp", "dynamic", 0.4)),
}


def recipe_of(info: dict[str, Any]) -> Recipe:
    """The recipe a run used, from its pretraining.json (runs before recipes were BERT's)."""
    saved = {"objective": "nsp", "masking": "dynamic", "mask_prob": 0.15, **info.get("recipe", {})}
    key = (saved["objective"], saved["masking"], round(float(saved["mask_prob"]), 6))
    for recipe in RECIPES.values():
        if recipe.settings == key:
            return recipe
    raise ValueError(f"no ablation recipe is {saved}; known: {', '.join(RECIPES)}")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def measure_transfer(run_dir: str | Path, progress: bool = True) -> dict[str, Any]:
    """Fine-tune a run's model on 100 and 200 labelled reviews (5 seeds), as chapter 06b does."""
    from bertlab.finetuning import TrainingSettings, learning_curve
    from bertlab.model import BertForSequenceClassification
    from bertlab.tinyworld.corpus import sentiment_split
    from bertlab.tokenizer import BertTokenizer

    run_dir = Path(run_dir)
    settings = TrainingSettings(epochs=8, batch_size=16, learning_rate=1e-3, patience=4)
    split = sentiment_split(n_train=1000, n_test=TRANSFER_TEST_REVIEWS, seed=0)
    started = time.perf_counter()
    with warnings.catch_warnings():  # a fresh classifier and the unused pretraining heads: expected
        warnings.filterwarnings("ignore", message=".*newly initialized.*")
        warnings.filterwarnings("ignore", message=".*not used by this model.*")
        curve = learning_curve(
            run_dir.name,
            lambda: BertForSequenceClassification.from_pretrained(run_dir, num_labels=2),
            BertTokenizer.from_pretrained(run_dir), split, TRANSFER_LABELS, TRANSFER_SEEDS,
            settings, validation_size=60, min_steps=40, progress=progress)
    return {"task": "sentiment on held-out adjectives (chapter 06b's split: 1000 train, 300 test)",
            "learning_rate": settings.learning_rate, "seeds": list(TRANSFER_SEEDS),
            "accuracy": {str(n): curve.scores[n] for n in TRANSFER_LABELS},
            "seconds": round(time.perf_counter() - started, 1)}


def ship_run(run_dir: str | Path, root: str | Path = ABLATIONS_DIR, progress: bool = True) -> Path:
    """Check a finished run against its manifest, measure transfer, copy its logs into `root`."""
    run_dir = Path(run_dir)
    manifest = verify_manifest(run_dir)
    info = json.loads((run_dir / "pretraining.json").read_text(encoding="utf-8"))
    recipe = recipe_of(info)
    name = f"{recipe.name}-seed{manifest['seed']}"
    records = _read_jsonl(run_dir / "log.jsonl")
    steps = [r for r in records if r["kind"] == "step"
             if r["step"] <= PROVENANCE_STEPS or r["step"] % STEP_STRIDE == 0]
    evals = [r for r in records if r["kind"] == "eval"]
    if not evals or evals[-1]["step"] != info["steps"]:
        raise ValueError(f"{run_dir} has no evaluation at its last step {info['steps']}")
    final = Path(root) / name
    dest = final.with_name(f".{name}.partial")  # renamed when complete: no half-shipped run
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    _write_jsonl(dest / "steps.jsonl", steps)
    _write_jsonl(dest / "evals.jsonl", evals)
    shutil.copy2(run_dir / "pretraining.json", dest / "pretraining.json")
    transfer = measure_transfer(run_dir, progress=progress)
    transfer["command"] = f"python -m bertlab.ablations {run_dir}"
    (dest / "transfer.json").write_text(json.dumps(transfer, indent=1) + "\n", encoding="utf-8")
    shipped = {**manifest, "recipe": recipe.name, "run_files": manifest["files"],
               "files": file_digests(dest)}
    (dest / "manifest.json").write_text(json.dumps(shipped, indent=1) + "\n", encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    dest.rename(final)
    return final


@dataclass
class AblationRun:
    """One shipped ablation run: its recipe, seed, evaluations, losses, transfer and manifest."""

    name: str
    recipe: Recipe
    seed: int
    evals: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    transfer: dict[int, list[float]]
    manifest: dict[str, Any]

    def fill_in(self, word_class: str = "overall") -> float:
        """Fill-in accuracy on chapter 00's held-out blanks at the last step, for one class."""
        return float(self.evals[-1]["fill_in"][word_class])

    def copying_step(self, word_class: str = "name") -> int | None:
        """The first step from which a class's fill-in never falls below COPYING_THRESHOLD."""
        return copying_step(self.evals, word_class)

    def transfer_accuracy(self, labels: int) -> float:
        """Mean held-out-adjective accuracy over the fine-tuning seeds at `labels` labels."""
        return float(np.mean(self.transfer[labels]))


def copying_step(evals: list[dict[str, Any]], word_class: str = "name",
                 threshold: float = COPYING_THRESHOLD) -> int | None:
    """The first evaluated step from which a class's fill-in stays >= threshold (None: never)."""
    for i, record in enumerate(evals):
        if all(later["fill_in"][word_class] >= threshold for later in evals[i:]):
            return int(record["step"])
    return None


def load_runs(root: str | Path = ABLATIONS_DIR) -> list[AblationRun]:
    """Every shipped run under `root`, each checked against its manifest, by recipe then seed."""
    runs = []
    for folder in sorted(Path(root).iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        manifest = verify_manifest(folder)
        transfer = json.loads((folder / "transfer.json").read_text(encoding="utf-8"))
        runs.append(AblationRun(
            folder.name, RECIPES[manifest["recipe"]], int(manifest["seed"]),
            _read_jsonl(folder / "evals.jsonl"), _read_jsonl(folder / "steps.jsonl"),
            {int(n): scores for n, scores in transfer["accuracy"].items()}, manifest))
    order = list(RECIPES)
    return sorted(runs, key=lambda run: (order.index(run.recipe.name), run.seed))


@dataclass
class Spread:
    """One measurement over pretraining seeds: every seed's value, and the standard error one
    value has from the size of the test set alone (`noise`)."""

    values: list[float]
    noise: float = 0.0

    @property
    def mean(self) -> float:
        """The mean over seeds."""
        return float(np.mean(self.values))

    @property
    def low(self) -> float:
        """The smallest seed's value."""
        return float(min(self.values))

    @property
    def high(self) -> float:
        """The largest seed's value."""
        return float(max(self.values))

    def beyond(self, other: Spread) -> bool:
        """True when a difference is not noise: the seed ranges do not overlap, and the gap
        between means exceeds the wider range and twice the test sets' standard error."""
        gap = abs(self.mean - other.mean)
        apart = self.low > other.high or other.low > self.high
        widest = max(self.high - self.low, other.high - other.low)
        return apart and gap > widest and gap > 2 * math.hypot(self.noise, other.noise)

    def __format__(self, spec: str) -> str:
        spec = spec or ".3f"
        if len(self.values) == 1:
            return f"{self.mean:{spec}} (1 seed)"
        return f"{self.mean:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"

    def __str__(self) -> str:
        return format(self, "")


@functools.cache
def blanks_per_class() -> dict[str, int]:
    """How many of chapter 00's held-out blanks each word class has ("overall": all of them)."""
    from bertlab.fill_in import word_class
    from bertlab.tinyworld.corpus import generate_corpus
    from bertlab.tinyworld.ngram import fill_in_benchmark

    _, blanks = fill_in_benchmark(generate_corpus())
    counts = Counter(word_class(blank.answer) for blank in blanks)
    return {"overall": len(blanks), **counts}


def measure(runs: list[AblationRun], recipe: str, what: str) -> Spread:
    """One quantity for one recipe over its seeds, with the test set's standard error.

    `what` is "fill-in <class>" (e.g. "fill-in name"; error from that class's number of
    blanks), "copying <class>" (the copying step, a run that never copies counts as its last
    step; error: one evaluation interval) or "transfer <labels>" (error from the test reviews).
    """
    kind, _, argument = what.partition(" ")
    chosen = [run for run in runs if run.recipe.name == recipe]
    if not chosen:
        raise ValueError(f"no shipped run of recipe {recipe!r}")
    if kind == "fill-in":
        values = [run.fill_in(argument) for run in chosen]
        mean = float(np.mean(values))
        return Spread(values, math.sqrt(mean * (1 - mean) / blanks_per_class()[argument]))
    if kind == "copying":
        values = [float(run.copying_step(argument) or run.evals[-1]["step"]) for run in chosen]
        return Spread(values, float(chosen[0].evals[1]["step"] - chosen[0].evals[0]["step"]))
    if kind == "transfer":
        values = [run.transfer_accuracy(int(argument)) for run in chosen]
        mean = float(np.mean(values))
        return Spread(values, math.sqrt(mean * (1 - mean) / TRANSFER_TEST_REVIEWS))
    raise ValueError(f"unknown measurement {what!r}: fill-in/copying/transfer")


def wall_seconds(runs: list[AblationRun]) -> float:
    """Wall-clock seconds the shipped runs took to pretrain, summed over runs."""
    return float(sum(run.manifest["wall_seconds"] for run in runs))


def main(argv: list[str] | None = None) -> int:
    """Ship finished ablation runs: `python -m bertlab.ablations RUN_DIR [RUN_DIR ...]`."""
    parser = argparse.ArgumentParser(prog="python -m bertlab.ablations",
                                     description=ship_run.__doc__)
    parser.add_argument("runs", nargs="+", type=Path,
                        help="finished pretraining run directories (the course model's is "
                        f"bertlab/checkpoints/{COURSE_MODEL_DIR.name}: nsp-seed0)")
    parser.add_argument("--root", type=Path, default=ABLATIONS_DIR, help="where shipped runs go")
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        print(f"{run_dir} -> {ship_run(run_dir, args.root)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
