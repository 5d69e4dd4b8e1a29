"""Chapter 07's recipe ablations: the shipped logs are intact (hashes), were made by the commands
their manifests name (provenance), and the summaries the chapter draws from them are right."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from bertlab import ablations
from bertlab.ablations import (
    ABLATIONS_DIR,
    PROVENANCE_STEPS,
    RECIPES,
    STEP_STRIDE,
    Spread,
    copying_step,
    load_runs,
    measure,
    recipe_of,
    ship_run,
)
from bertlab.course_model import COURSE_MODEL_DIR, course_log, machine, read_manifest
from bertlab.pretrain import main, replay
from bertlab.tinyworld.corpus import generate_corpus

REPLAYED_STEPS = 60  # of the shipped run below; every step up to PROVENANCE_STEPS is shipped
REPLAYED_RUN = "none-seed1"


@pytest.fixture(scope="module")
def runs() -> list[ablations.AblationRun]:
    return load_runs()


def test_every_recipe_is_shipped_from_two_or_more_seeds_and_every_file_matches(runs):
    seeds = {name: sorted(run.seed for run in runs if run.recipe.name == name) for name in RECIPES}
    assert all(len(found) >= 2 for found in seeds.values()), seeds
    assert len(seeds["nsp"]) >= 3, "the course recipe's seeds measure the noise"
    for run in runs:
        manifest = run.manifest  # load_runs checked every shipped file's sha256 already
        assert set(manifest["files"]) == {"evals.jsonl", "steps.jsonl", "pretraining.json",
                                          "transfer.json"}
        assert {"model.safetensors", "log.jsonl", "vocab.txt"} <= set(manifest["run_files"])
        assert manifest["command"].startswith("python -m bertlab.pretrain --preset long")
        assert not manifest["commit"].endswith("-dirty"), f"{run.name}: uncommitted code"
        argv = manifest["argv"]
        for flag, value in zip(run.recipe.flags[::2], run.recipe.flags[1::2], strict=True):
            assert argv[argv.index(flag) + 1] == value, (run.name, argv)
        assert "--seed" not in argv or argv[argv.index("--seed") + 1] == str(run.seed)
        assert run.name == f"{run.recipe.name}-seed{run.seed}"


def test_shipped_logs_hold_every_evaluation_and_the_first_steps_in_full(runs):
    for run in runs:
        info = json.loads((ABLATIONS_DIR / run.name / "pretraining.json").read_text())
        assert info["steps"] == 8000 and info["preset"] == "long"
        assert [e["step"] for e in run.evals] == list(range(250, 8001, 250)), run.name
        assert {"overall", "name", "town or venue", "verb"} <= set(run.evals[-1]["fill_in"])
        steps = [s["step"] for s in run.steps]
        assert steps == [*range(1, PROVENANCE_STEPS + 1),
                         *range(PROVENANCE_STEPS + STEP_STRIDE, 8001, STEP_STRIDE)], run.name
        assert set(run.transfer) == {100, 200}
        assert all(len(scores) == 5 and all(0 <= s <= 1 for s in scores)
                   for scores in run.transfer.values())


def test_the_course_model_is_the_first_seed_of_the_course_recipe(runs):
    shipped = next(run for run in runs if run.name == "nsp-seed0")
    assert shipped.manifest["run_files"] == read_manifest(COURSE_MODEL_DIR)["files"]
    assert shipped.evals == [{"kind": "eval", **e} for e in course_log()[1]]


def test_a_changed_log_is_named(tmp_path):
    copy = Path(shutil.copytree(ABLATIONS_DIR, tmp_path / "ablations"))
    assert len(load_runs(copy)) == len(list(ABLATIONS_DIR.iterdir()))
    with (copy / "sop-seed0" / "evals.jsonl").open("a", encoding="utf-8") as file:
        file.write("{}\n")
    with pytest.raises(ValueError, match="evals.jsonl differs"):
        load_runs(copy)


def test_the_first_steps_of_a_shipped_command_reproduce_its_log(tmp_path, runs):
    """Provenance: the manifest's command, run again from the same seed, gives the logged losses.

    Exactly equal with the run's thread count on the machine kind that made it; elsewhere other
    SIMD kernels sum in another order, so 1e-3 relative (as for the course model).
    """
    run = next(run for run in runs if run.name == REPLAYED_RUN)
    made_on = run.manifest
    rerun = replay(made_on, tmp_path / "rerun", REPLAYED_STEPS)
    same_kind = torch.__version__ == made_on["versions"]["torch"] and all(
        machine()[key] == made_on["machine"][key] for key in ("cpu", "cores"))
    assert len(rerun) == REPLAYED_STEPS
    for new, old in zip(rerun, run.steps[:REPLAYED_STEPS], strict=True):
        for key in ("loss", "mlm_loss", "learning_rate"):
            if same_kind:
                assert new[key] == old[key], (new, old)
            else:
                assert new[key] == pytest.approx(old[key], rel=1e-3), (new, old)


def _evals(*names: float) -> list[dict]:
    return [{"step": 250 * (i + 1), "fill_in": {"name": value}} for i, value in enumerate(names)]


def test_copying_starts_where_a_class_stays_above_the_threshold_for_good():
    assert copying_step(_evals(0.05, 0.2, 0.1, 0.16, 0.3)) == 1000  # the dip at 750 resets it
    assert copying_step(_evals(0.2, 0.3)) == 250
    assert copying_step(_evals(0.2, 0.1)) is None


def test_a_difference_counts_only_beyond_the_seed_ranges_and_the_test_sets_error():
    assert Spread([0.5, 0.6]).beyond(Spread([0.2, 0.3]))
    assert not Spread([0.5, 0.6]).beyond(Spread([0.55, 0.7]))  # the ranges overlap
    assert not Spread([0.50, 0.60]).beyond(Spread([0.44, 0.49]))  # apart, but the gap < the range
    assert not Spread([0.474], 0.04).beyond(Spread([0.468, 0.468], 0.04))  # within the test error
    assert Spread([0.6], 0.03).beyond(Spread([0.468, 0.468], 0.03))
    assert f"{Spread([0.5, 0.7])}" == "0.600 [0.500, 0.700]"
    assert f"{Spread([6000, 7250]):,.0f}" == "6,625 [6,000, 7,250]"
    assert str(Spread([0.5])) == "0.500 (1 seed)"


def test_measure_reads_each_quantity_and_names_a_wrong_one(runs):
    course = [run for run in runs if run.recipe.name == "nsp"]
    assert measure(runs, "nsp", "fill-in name").values == [r.fill_in("name") for r in course]
    assert measure(runs, "nsp", "transfer 100").values == [r.transfer_accuracy(100) for r in course]
    assert measure(runs, "sop", "copying name").values == [
        float(r.copying_step("name") or 8000) for r in runs if r.recipe.name == "sop"]
    assert measure(runs, "sop", "copying name").noise == 250  # one evaluation interval
    names = measure(runs, "nsp", "fill-in name")
    assert names.noise == pytest.approx((names.mean * (1 - names.mean) / 259) ** 0.5)
    with pytest.raises(ValueError, match="unknown measurement"):
        measure(runs, "nsp", "speed 3")
    with pytest.raises(ValueError, match="no shipped run"):
        measure(runs, "electra", "fill-in name")


def test_recipe_of_reads_pretraining_json_and_refuses_an_unknown_recipe():
    assert recipe_of({}).name == "nsp"  # runs saved before recipes were BERT's
    assert recipe_of({"recipe": {"objective": "none", "masking": "dynamic",
                                 "mask_prob": 0.15}}).name == "none"
    assert recipe_of({"recipe": {"objective": "nsp", "masking": "static",
                                 "mask_prob": 0.15}}).name == "static"
    with pytest.raises(ValueError, match="no ablation recipe"):
        recipe_of({"recipe": {"objective": "sop", "masking": "static", "mask_prob": 0.15}})


def test_ship_run_copies_logs_measures_transfer_and_writes_a_manifest(tmp_path, monkeypatch):
    corpus = tmp_path / "tinyworld.txt"
    corpus.write_text(generate_corpus(200, seed=3).to_bert_text(), encoding="utf-8")
    run_dir = tmp_path / "run"
    assert main(["--preset", "tiny", "--steps", "6", "--batch-size", "8", "--eval-every", "3",
                 "--no-progress", "--objective", "sop", "--corpus", str(corpus), "--seed", "4",
                 "--output-dir", str(run_dir)]) == 0
    monkeypatch.setattr(ablations, "TRANSFER_SEEDS", (0,))
    monkeypatch.setattr(ablations, "TRANSFER_LABELS", (20,))
    monkeypatch.setattr(ablations, "PROVENANCE_STEPS", 2)
    monkeypatch.setattr(ablations, "STEP_STRIDE", 3)
    dest = ship_run(run_dir, tmp_path / "shipped", progress=False)
    assert dest.name == "sop-seed4"
    steps = [json.loads(line)["step"] for line in (dest / "steps.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 6]
    transfer = json.loads((dest / "transfer.json").read_text())
    assert list(transfer["accuracy"]) == ["20"] and len(transfer["accuracy"]["20"]) == 1
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["recipe"] == "sop" and manifest["seed"] == 4
    assert manifest["run_files"] == read_manifest(run_dir)["files"]
    (run_dir / "vocab.txt").write_text("changed\n", encoding="utf-8")
    with pytest.raises(ValueError, match="vocab.txt differs"):
        ship_run(run_dir, tmp_path / "again", progress=False)
