"""The shipped course model: intact (hashes), made by the command its manifest names
(provenance), small, and usable offline from bertlab and from transformers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from bertlab.course_model import (
    COURSE_MODEL_DIR,
    course_log,
    course_model,
    machine,
    read_manifest,
    verify_manifest,
)
from bertlab.pretrain import main, replay
from bertlab.probes import predict_masked

PROVENANCE_STEPS = 150


def test_every_file_matches_its_manifest_and_the_checkpoint_is_small():
    manifest = verify_manifest()
    assert set(manifest["files"]) >= {"config.json", "model.safetensors", "vocab.txt",
                                      "log.jsonl", "pretraining.json"}
    size = sum(p.stat().st_size for p in COURSE_MODEL_DIR.iterdir())
    assert size < 5_000_000, f"the course model takes {size:,} bytes"
    assert manifest["command"].startswith("python -m bertlab.pretrain")
    assert not manifest["commit"].endswith("-dirty"), "made from uncommitted code"


def test_a_changed_file_is_named(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(COURSE_MODEL_DIR, copy)
    verify_manifest(copy)
    with (copy / "vocab.txt").open("a", encoding="utf-8") as file:
        file.write("extra\n")
    with pytest.raises(ValueError, match="vocab.txt differs"):
        verify_manifest(copy)
    (copy / "log.jsonl").unlink()
    with pytest.raises(ValueError, match="log.jsonl is missing"):
        verify_manifest(copy)


def test_log_holds_every_step_and_every_evaluation_with_fill_in():
    steps, evals = course_log()
    info = json.loads((COURSE_MODEL_DIR / "pretraining.json").read_text())
    assert [s["step"] for s in steps] == list(range(1, info["steps"] + 1))
    assert evals[-1]["step"] == info["steps"]
    for record in evals:
        assert {"seconds", "mlm_loss", "mlm_accuracy", "nsp_accuracy"} <= set(record)
        assert {"overall", "name", "function word", "verb"} <= set(record["fill_in"])
    seconds = [e["seconds"] for e in evals]
    assert seconds == sorted(seconds) and seconds[0] > 0


def test_float16_weights_cost_at_most_a_fifth_of_a_point():
    info = json.loads((COURSE_MODEL_DIR / "pretraining.json").read_text())
    assert info["weights_dtype"] == "float16"
    full, rounded = info["held_out"], info["held_out_as_saved"]
    assert abs(full["mlm_accuracy"] - rounded["mlm_accuracy"]) <= 0.002
    assert abs(full["nsp_accuracy"] - rounded["nsp_accuracy"]) <= 0.002
    assert abs(full["fill_in"]["overall"] - rounded["fill_in"]["overall"]) <= 0.002


def _rerun(tmp_path: Path, extra: list[str]) -> Path:
    """Run the manifest's own command again into tmp_path, with `extra` flags appended."""
    out = tmp_path / "rerun"
    argv = [*read_manifest()["argv"], "--output-dir", str(out), "--no-progress", *extra]
    assert main(argv) == 0
    return out


def test_the_first_steps_of_the_manifest_command_reproduce_the_log(tmp_path):
    """Provenance: the same command from the same seed gives the logged losses.

    Exactly equal on the machine kind that made the model (same CPU and torch; replay uses the
    run's thread count).
    Elsewhere other SIMD kernels sum in another order, so losses agree to about 1e-6 at first
    and drift with every step; 1e-3 relative over 150 steps is what such runs keep.
    """
    out = tmp_path / "rerun"
    rerun_steps = replay(read_manifest(), out, PROVENANCE_STEPS)
    logged = course_log()[0][:PROVENANCE_STEPS]
    assert len(rerun_steps) == PROVENANCE_STEPS
    assert (out / "checkpoint" / "vocab.txt").read_text() == \
        (COURSE_MODEL_DIR / "vocab.txt").read_text(), "the vocabulary is trained the same"
    made_on = read_manifest()
    same_kind = torch.__version__ == made_on["versions"]["torch"] and all(
        machine()[key] == made_on["machine"][key] for key in ("cpu", "cores"))
    for new, old in zip(rerun_steps, logged, strict=True):
        for key in ("loss", "mlm_loss", "nsp_loss", "learning_rate"):
            if same_kind:
                assert new[key] == old[key], (new, old)
            else:
                assert new[key] == pytest.approx(old[key], rel=1e-3), (new, old)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("BERTLAB_SLOW") != "1", reason="set BERTLAB_SLOW=1 (~25 min)")
def test_the_whole_command_reproduces_the_final_figures(tmp_path):
    out = _rerun(tmp_path, [])
    final = json.loads((out / "pretraining.json").read_text())["held_out"]
    shipped = json.loads((COURSE_MODEL_DIR / "pretraining.json").read_text())["held_out"]
    for key in ("mlm_accuracy", "nsp_accuracy"):
        assert abs(final[key] - shipped[key]) <= 0.01, key
    for kind, accuracy in shipped["fill_in"].items():
        if kind in ("overall", "name", "function word", "verb"):
            assert abs(final["fill_in"][kind] - accuracy) <= 0.01, kind


def test_course_model_loads_offline_and_reads_who_was_named_before():
    """'her' or 'his' follows the name: a five-minute model says 'her' about half the time."""
    model, tokenizer = course_model()
    assert not model.training

    def her_minus_his(name: str) -> float:
        text = f"{name} had a small dog . every morning , {name} fed [MASK] dog ."
        guesses = dict(predict_masked(model, tokenizer, text, k=20)[0])
        return guesses.get("her", 0.0) - guesses.get("his", 0.0)

    women = [her_minus_his(name) for name in ("olivia", "mia", "mabel", "dora")]
    men = [her_minus_his(name) for name in ("jack", "tom", "fred", "leo")]
    assert sum(women) / 4 - sum(men) / 4 > 0.8, (women, men)


def test_transformers_opens_the_course_model_and_its_fill_mask_pipeline_agrees():
    transformers = pytest.importorskip("transformers")
    model, tokenizer = course_model()
    hf_model = transformers.BertForMaskedLM.from_pretrained(COURSE_MODEL_DIR)
    assert hf_model.dtype == torch.float32
    transformers.BertForPreTraining.from_pretrained(COURSE_MODEL_DIR)
    hf_tokenizer = transformers.BertTokenizer.from_pretrained(COURSE_MODEL_DIR)
    fill = transformers.pipeline("fill-mask", model=hf_model, tokenizer=hf_tokenizer, top_k=3)
    text = "the chef cooked the soup in the [MASK] ."
    ours = predict_masked(model, tokenizer, text, k=3)[0]
    theirs = fill(text)
    assert [t["token_str"] for t in theirs] == [word for word, _ in ours]
    for t, (_, p) in zip(theirs, ours, strict=True):
        assert t["score"] == pytest.approx(p, abs=1e-5)
