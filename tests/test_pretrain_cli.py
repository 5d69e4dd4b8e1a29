"""bertlab.pretrain: two torchrun processes train exactly as one; outputs load in HF; presets,
corpora and the model chapter 06 loads."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bertlab import pretrain as pretrain_module
from bertlab.environment import ARTIFACTS_ENV
from bertlab.model import BertConfig, BertForPreTraining
from bertlab.pretrain import (
    PRESETS,
    PRETRAINED_MODEL_DIR,
    RUN_INFO,
    JsonLog,
    Recipe,
    get_preset,
    load_corpus,
    load_or_pretrain,
    main,
    prepare_data,
    pretrain,
    pretrained_model_dir,
)
from bertlab.pretraining import StepLog
from bertlab.tinyworld.corpus import generate_corpus
from bertlab.tokenizer import BertTokenizer

ARGS = ["--preset", "tiny", "--steps", "6", "--batch-size", "8", "--eval-every", "3",
        "--no-progress"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "tinyworld.txt"
    path.write_text(generate_corpus(200, seed=3).to_bert_text(), encoding="utf-8")
    return path


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}}
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run(command: list[str]) -> None:
    result = subprocess.run(command, env=_environment(), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def one_process(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one")
    _run([sys.executable, "-m", "bertlab.pretrain", "--corpus", str(corpus),
          "--output-dir", str(out), *ARGS])
    return out


@pytest.fixture(scope="module")
def two_processes(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("two")
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
          "2", "-m", "bertlab.pretrain", "--corpus", str(corpus), "--output-dir", str(out),
          *ARGS])
    return out


def _log(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "log.jsonl").read_text().splitlines()]


def test_two_processes_train_like_one_on_the_same_global_batch(one_process, two_processes):
    one, two = _log(one_process), _log(two_processes)
    assert [r["kind"] for r in one] == [r["kind"] for r in two] == \
        ["step"] * 3 + ["eval"] + ["step"] * 3 + ["eval"]
    for a, b in zip(one, two, strict=True):
        for key in ("loss", "mlm_loss", "nsp_loss", "mlm_accuracy", "nsp_accuracy"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), (key, a, b)
    first = BertForPreTraining.from_pretrained(one_process)
    second = BertForPreTraining.from_pretrained(two_processes)
    for (name, p), q in zip(first.named_parameters(), second.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5, msg=name)
    assert one[0]["loss"] > one[-2]["loss"], "the loss should fall over six steps"


def test_output_loads_in_bertlab_and_transformers(one_process):
    transformers = pytest.importorskip("transformers")
    assert (one_process / "vocab.txt").is_file()
    info = json.loads((one_process / "pretraining.json").read_text())
    assert info["preset"] == "tiny" and info["steps"] == 6
    ours = BertForPreTraining.from_pretrained(one_process)
    theirs = transformers.BertForPreTraining.from_pretrained(one_process).eval()
    tokenizer = BertTokenizer.from_pretrained(one_process)
    hf_tokenizer = transformers.BertTokenizer.from_pretrained(one_process)
    text = "the dog [MASK] the ball in the park."
    ids = tokenizer(text)["input_ids"]
    assert ids.tolist() == hf_tokenizer(text, return_tensors="pt")["input_ids"].tolist()
    with torch.no_grad():
        expected = theirs(input_ids=ids)
        got = ours(ids)
    torch.testing.assert_close(got.prediction_logits, expected.prediction_logits,
                               rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(got.seq_relationship_logits, expected.seq_relationship_logits,
                               rtol=1e-4, atol=1e-4)


def test_cli_resume_finishes_an_interrupted_run_exactly(corpus, one_process, tmp_path,
                                                        monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)

    def interrupt_after_step_2(trainer, record):
        if isinstance(record, StepLog) and record.step == 2:
            raise KeyboardInterrupt

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the subprocess ran: the thread count changes float sums
    try:
        run = pretrain("tiny", tmp_path, steps=6, corpus=corpus, batch_size=8, eval_every=3,
                       callbacks=[interrupt_after_step_2], progress=False)
        assert run.trainer.interrupted and not (tmp_path / "model.safetensors").exists()
        assert main(["--corpus", str(corpus), "--output-dir", str(tmp_path), "--resume",
                     *ARGS]) == 0
    finally:
        torch.set_num_threads(threads)
    resumed = BertForPreTraining.from_pretrained(tmp_path)
    straight = BertForPreTraining.from_pretrained(one_process)
    for a, b in zip(resumed.parameters(), straight.parameters(), strict=True):
        assert torch.equal(a, b)
    assert [r["step"] for r in _log(tmp_path) if r["kind"] == "step"] == [3, 4, 5, 6]


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["--output-dir", "x", "--steps", "0"])
    assert "--steps must be a positive integer" in capsys.readouterr().err


@pytest.fixture(scope="module")
def finished(corpus, tmp_path_factory) -> Path:
    """A finished 6-step tiny run, made in this process; tests work on copies of it."""
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main(["--corpus", str(corpus), "--output-dir", str(out), *ARGS]) == 0
    return out


def _copy(finished: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "run"))


@pytest.mark.parametrize(("flag", "value", "saved"), [
    ("--steps", "12", "steps 6"),
    ("--preset", "default", "preset tiny"),
    ("--seed", "1", "seed 0"),
    ("--batch-size", "16", "batch_size 8"),
    ("--corpus", "tinyworld", "corpus /"),
])
def test_resume_refuses_flags_that_contradict_the_saved_run(finished, tmp_path, flag, value,
                                                            saved):
    out = _copy(finished, tmp_path)
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match=f"{flag} {value} contradicts .* which has {saved}"):
        main(["--output-dir", str(out), "--resume", "--no-progress", flag, value])
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_resume_with_the_same_or_no_flags_continues_and_relabels_nothing(finished, corpus,
                                                                         tmp_path):
    out = _copy(finished, tmp_path)
    assert main(["--output-dir", str(out), "--resume", "--no-progress"]) == 0
    assert main(["--corpus", str(corpus), "--output-dir", str(out), "--resume", *ARGS]) == 0
    info = json.loads((out / "pretraining.json").read_text())
    assert info["preset"] == "tiny" and info["steps"] == 6
    assert [r["step"] for r in _log(out) if r["kind"] == "step"] == [1, 2, 3, 4, 5, 6]


def test_an_existing_run_needs_resume_or_overwrite(finished, corpus, tmp_path):
    out = _copy(finished, tmp_path)
    log = (out / "log.jsonl").read_bytes()
    with pytest.raises(FileExistsError, match="--resume .* --overwrite"):
        main(["--corpus", str(corpus), "--output-dir", str(out), *ARGS])
    (out / "log.jsonl").unlink()  # the checkpoint alone is guarded too
    with pytest.raises(FileExistsError, match=r"already holds a pretraining run \(checkpoint"):
        main(["--corpus", str(corpus), "--output-dir", str(out), *ARGS])
    (out / "log.jsonl").write_bytes(log)
    assert main(["--corpus", str(corpus), "--output-dir", str(out), "--overwrite", "--seed", "1",
                 *ARGS]) == 0
    assert [r["step"] for r in _log(out) if r["kind"] == "step"] == [1, 2, 3, 4, 5, 6]
    assert _log(out) != [json.loads(line) for line in log.decode().splitlines()]
    with pytest.raises(SystemExit):
        main(["--output-dir", str(out), "--resume", "--overwrite"])


class Kill(BaseException):
    """A simulated kill -9 after step 5 was logged (the last checkpoint holds step 4)."""


def test_after_a_resume_the_log_holds_each_step_once(corpus, tmp_path):
    def kill_after_step_5(trainer, record):
        if isinstance(record, StepLog) and record.step == 5:
            raise Kill

    log = JsonLog(tmp_path / "log.jsonl", start_over=False)
    with pytest.raises(Kill):
        pretrain("tiny", tmp_path, steps=6, corpus=corpus, batch_size=8, eval_every=3,
                 checkpoint_every=4, callbacks=[log, kill_after_step_5], progress=False)
    log.file.write('{"kind": "step", "st')  # and a line cut short by the kill
    log.file.close()
    assert main(["--output-dir", str(tmp_path), "--resume", "--no-progress"]) == 0
    records = _log(tmp_path)
    assert [(r["kind"], r["step"]) for r in records] == [
        ("step", 1), ("step", 2), ("step", 3), ("eval", 3), ("step", 4), ("step", 5),
        ("step", 6), ("eval", 6)]


def test_an_unwritable_output_dir_fails_before_training(corpus, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    log = tmp_path / "log.jsonl"
    with pytest.raises(PermissionError, match="cannot write to the output directory"):
        main(["--corpus", str(corpus), "--output-dir", str(blocker / "out"), "--log-file",
              str(log), *ARGS])
    assert log.read_text() == "", "no step may run before the output directory is checked"


# ----------------------------------------------------------------------------- presets, corpora


def _write_corpus(path, documents, separator="\n\n"):
    path.write_text(separator.join("\n".join(doc) for doc in documents) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", ["one_sentence_each", "double_spaced"])
def test_text_that_cannot_make_both_kinds_of_nsp_pair_is_refused(tmp_path, layout):
    world = generate_corpus(160, seed=5)
    documents = world.as_documents()[:60]
    if layout == "one_sentence_each":
        documents = [[sentence] for doc in documents for sentence in doc]
        path = _write_corpus(tmp_path / "corpus.txt", documents)
    else:  # every line followed by a blank line
        path = tmp_path / "corpus.txt"
        path.write_text("".join(f"{s}\n\n" for doc in documents for s in doc), encoding="utf-8")
    with pytest.raises(ValueError, match=r"0 true-next and \d+ random-next.*blank line only "
                                         r"between documents"):
        prepare_data(get_preset("tiny"), path)
    good = prepare_data(get_preset("tiny"),
                        _write_corpus(tmp_path / "good.txt", world.as_documents()[:60]))
    share = sum(p.is_random_next for p in good.train.pairs) / len(good.train)
    assert 0.4 < share < 0.6


def test_a_corpus_in_another_encoding_is_named_with_its_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("The cat sat.\nIt slept.\n\nCaf\u00e9 food was good.\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.txt is not UTF-8 text: line 4 .*cp1252"):
        load_corpus(path)


def test_a_longer_presets_model_stands_in_for_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv(ARTIFACTS_ENV, str(tmp_path))
    tokenizer = BertTokenizer.train(generate_corpus(160, seed=5).sentences(), 600)
    main_dir = tmp_path / PRETRAINED_MODEL_DIR
    torch.manual_seed(0)
    saved = BertForPreTraining(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32,
                                          num_hidden_layers=2, num_attention_heads=2,
                                          intermediate_size=64, max_position_embeddings=48))
    saved.save_pretrained(main_dir, tokenizer=tokenizer)
    (main_dir / RUN_INFO).write_text(json.dumps({"preset": "long"}))

    def no_training(*args, **kwargs):
        raise AssertionError("a saved model of a longer preset should have been loaded")

    monkeypatch.setattr(pretrain_module, "pretrain", no_training)
    model, loaded_tokenizer = load_or_pretrain("default", progress=False)
    assert loaded_tokenizer.vocab == tokenizer.vocab
    assert torch.equal(model.bert.embeddings.word_embeddings.weight,
                       saved.bert.embeddings.word_embeddings.weight)
    # a run of a shorter preset keeps out of the longer model's way, a longer one replaces it
    assert pretrained_model_dir("default") == tmp_path / "tinybert-default"
    assert pretrained_model_dir("long") == main_dir
    assert list(PRESETS).index("long") > list(PRESETS).index("default")


# ----------------------------------------------------------------------------- recipes (chapter 07)


def _steps_and_evals(directory: Path) -> tuple[list[dict], list[dict]]:
    records = _log(directory)
    steps = [r for r in records if r["kind"] == "step"]
    return steps, [r for r in records if r["kind"] == "eval"]


@pytest.mark.parametrize(("flags", "recipe"), [
    ([], {"objective": "nsp", "masking": "dynamic", "mask_prob": 0.15}),
    (["--objective", "sop"], {"objective": "sop", "masking": "dynamic", "mask_prob": 0.15}),
    (["--objective", "none"], {"objective": "none", "masking": "dynamic", "mask_prob": 0.15}),
    (["--masking", "static"], {"objective": "nsp", "masking": "static", "mask_prob": 0.15}),
    (["--mask-prob", "0.4"], {"objective": "nsp", "masking": "dynamic", "mask_prob": 0.4}),
])
def test_each_recipe_trains_through_the_command_line(corpus, tmp_path, capsys, flags, recipe):
    out = tmp_path / "run"
    assert main(["--corpus", str(corpus), "--output-dir", str(out), *ARGS, *flags]) == 0
    info = json.loads((out / RUN_INFO).read_text())
    assert info["recipe"] == recipe
    state = json.loads((out / "checkpoint" / "trainer_state.json").read_text())
    assert state["run"]["recipe"] == recipe, "the checkpoint records the recipe for --resume"
    argv = json.loads((out / "manifest.json").read_text())["argv"]
    assert argv[len(argv) - len(flags):] == flags, "the manifest's command names the recipe"
    steps, evals = _steps_and_evals(out)
    losses = [s["loss"] for s in steps]
    assert len(losses) == 6 and all(map(math.isfinite, losses)) and losses[0] > losses[-1]
    objective = recipe["objective"]
    for name in ("nsp", "sop"):
        trained = name == objective
        assert all((s[f"{name}_loss"] is not None) == trained for s in steps)
        assert all((e[f"{name}_accuracy"] is not None) == trained for e in evals)
        assert (info["held_out"][f"{name}_accuracy"] is not None) == trained
    if objective == "none":
        assert all(s["loss"] == s["mlm_loss"] for s in steps)
    printed = capsys.readouterr().out
    assert ("NSP accuracy" in printed) == (objective == "nsp")
    assert ("SOP accuracy" in printed) == (objective == "sop")


def test_the_recipe_shapes_the_data(corpus):
    preset = get_preset("tiny")
    static = prepare_data(preset, corpus, recipe=Recipe(masking="static", mask_prob=0.4))
    assert not static.train.dynamic and static.train.scheme.mask_prob == 0.4
    assert static.train.example(0, 0) == static.train.example(0, 5)
    assert static.held_out.scheme.mask_prob == 0.15, "held-out MLM compares across rates"
    none = prepare_data(preset, corpus, recipe=Recipe(objective="none"))
    assert none.train.dynamic and none.train.objective == none.held_out.objective == "none"
    assert all(not p.tokens_b for p in none.train.pairs)
    with pytest.raises(ValueError, match="unknown objective"):
        Recipe(objective="mlm")
    with pytest.raises(ValueError, match="the data given was made for"):
        pretrain("tiny", steps=2, data=none, objective="sop", progress=False)


def test_a_run_without_sentence_pairs_scores_fill_in_on_one_segment(monkeypatch):
    """Fill-in inputs take the layout the model was pretrained on."""
    world = generate_corpus(200, seed=3)
    layouts = []

    def stop_at_once(trainer, record):
        layouts.append(trainer.fill_in.one_segment)
        raise KeyboardInterrupt

    for objective in ("nsp", "none"):
        pretrain("tiny", steps=2, corpus=world, objective=objective, batch_size=8,
                 callbacks=[stop_at_once], progress=False)
    assert layouts == [False, True]


@pytest.mark.parametrize(("flag", "value", "saved"), [
    ("--objective", "sop", "objective nsp"),
    ("--objective", "none", "objective nsp"),
    ("--masking", "static", "masking dynamic"),
    ("--mask-prob", "0.4", "mask_prob 0.15"),
])
def test_resume_refuses_a_changed_recipe(finished, tmp_path, flag, value, saved):
    out = _copy(finished, tmp_path)
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match=f"{flag} {value} contradicts .* which has {saved}"):
        main(["--output-dir", str(out), "--resume", "--no-progress", flag, value])
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # a checkpoint saved before recipes existed was BERT's recipe: it is checked as one
    state_file = out / "checkpoint" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    del state["run"]["recipe"]
    state_file.write_text(json.dumps(state))
    with pytest.raises(ValueError, match=f"{flag} {value} contradicts .* which has {saved}"):
        main(["--output-dir", str(out), "--resume", "--no-progress", flag, value])


@pytest.mark.parametrize("objective", ["sop", "none"])
def test_a_stopped_run_resumes_with_its_recipe_to_the_same_weights(corpus, tmp_path, objective):
    recipe = ["--objective", objective, "--masking", "static", "--mask-prob", "0.3"]
    straight = tmp_path / "straight"
    assert main(["--corpus", str(corpus), "--output-dir", str(straight), *ARGS, *recipe]) == 0
    stopped = tmp_path / "stopped"
    assert main(["--corpus", str(corpus), "--output-dir", str(stopped), "--stop-after", "4",
                 *ARGS, *recipe]) == 0
    assert not (stopped / "model.safetensors").exists()
    assert main(["--output-dir", str(stopped), "--resume", "--no-progress"]) == 0
    info = json.loads((stopped / RUN_INFO).read_text())
    assert info["recipe"] == {"objective": objective, "masking": "static", "mask_prob": 0.3}
    resumed_model = BertForPreTraining.from_pretrained(stopped)
    straight_model = BertForPreTraining.from_pretrained(straight)
    for a, b in zip(resumed_model.parameters(), straight_model.parameters(), strict=True):
        assert torch.equal(a, b)
    (resumed_steps, resumed_evals), (steps, evals) = map(_steps_and_evals, (stopped, straight))
    assert resumed_steps == steps
    for record in (*resumed_evals, *evals):
        del record["seconds"]  # a timing, not a result
    assert resumed_evals == evals


def test_cli_rejects_a_mask_prob_outside_zero_to_one(capsys):
    for bad in ("0", "1", "1.5"):
        with pytest.raises(SystemExit):
            main(["--output-dir", "x", "--mask-prob", bad])
        assert "--mask-prob must be between 0 and 1" in capsys.readouterr().err


def test_two_processes_train_without_sentence_pairs_like_one(corpus, tmp_path):
    """Under "none" the pooler and NSP head get no gradient: DDP must not wait for them."""
    outs = {name: tmp_path / name for name in ("one", "two")}
    launch = {"one": [sys.executable, "-m", "bertlab.pretrain"],
              "two": [sys.executable, "-m", "torch.distributed.run", "--standalone",
                      "--nproc-per-node", "2", "-m", "bertlab.pretrain"]}
    for name, out in outs.items():
        _run([*launch[name], "--corpus", str(corpus), "--output-dir", str(out), *ARGS,
              "--objective", "none"])
    one, two = _log(outs["one"]), _log(outs["two"])
    assert [r["kind"] for r in one] == [r["kind"] for r in two]
    for a, b in zip(one, two, strict=True):
        for key in ("loss", "mlm_loss", "mlm_accuracy"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), (key, a, b)
