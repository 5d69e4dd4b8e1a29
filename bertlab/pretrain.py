"""`python -m bertlab.pretrain`: pretrain a BERT from the command line, alone or under torchrun.

    python -m bertlab.pretrain --output-dir artifacts/tinybert
    python -m bertlab.pretrain --corpus my_text.txt --preset tiny --steps 500 --output-dir out
    python -m bertlab.pretrain --output-dir out --resume          # continue a stopped run
    python -m bertlab.pretrain --preset long --eval-every 250 --weights-dtype float16 \
        --output-dir artifacts/course-model                     # how the course model was made
    python -m bertlab.pretrain --output-dir out --overwrite       # start that run over
    python -m bertlab.pretrain --objective sop --masking static --mask-prob 0.4 \
        --output-dir out                                        # another recipe (chapter 07)
    torchrun --nproc-per-node 2 -m bertlab.pretrain --output-dir out   # DistributedDataParallel

Under torchrun every process builds the same data from the same seed and takes its share of
each global batch (gloo on CPU, nccl on GPU); the update equals one process's on the whole
batch. The output directory holds config.json, model.safetensors and vocab.txt (loadable by
bertlab and transformers), pretraining.json with the final scores, log.jsonl with every step
and evaluation, manifest.json (the command, versions, machine, time and the sha256 of every
file) and checkpoint/ to resume. A directory that holds a run already needs --resume (which
refuses flags that contradict the saved run; flags left out are the saved run's) or --overwrite.

The recipe flags are chapter 07's ablations: --objective nsp (BERT, default), sop (ALBERT's
sentence-order prediction) or none (RoBERTa: whole sentences of one document, MLM only);
--masking dynamic (a fresh mask every epoch, RoBERTa; the default) or static (one mask per
pair, BERT); --mask-prob (0.15 by default; 0.4 is Wettig et al.'s).

As a library, this module is what chapters 05 and 06 call to get a pretrained model without
reading how: the size presets (`Preset`, `PRESETS`), `prepare_data` (a WordPiece vocabulary and
NSP pairs from a corpus), `pretrain` (a run from data to saved model, with resume checks) and
`load_or_pretrain` (chapter 06's model: load it, or make it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from bertlab.checkpoint import CHECKPOINT_DIR, Distributed, recover_checkpoint
from bertlab.course_model import code_commit, sha256, write_manifest
from bertlab.fill_in import FillInTask
from bertlab.model import BertConfig, BertForPreTraining
from bertlab.pretraining import (
    MASK_PROB,
    OBJECTIVES,
    EvalResult,
    NspPair,
    Pretrainer,
    PretrainingDataset,
    StepLog,
)
from bertlab.tokenizer import BertTokenizer
from bertlab.tokenizer_speedups import FastBertTokenizer
from bertlab.train import TrainingConfig, TrainingHistory

PRETRAINED_MODEL_DIR = "tinybert"  # under artifacts_dir(): what chapter 06 loads
RUN_INFO = "pretraining.json"  # beside a saved model: preset, steps, metrics
MIN_NSP_SHARE = 0.05  # text whose pairs are almost all one NSP label cannot teach NSP

# ============================================================================ presets


@dataclass(frozen=True)
class Preset:
    """A model size and a training budget, chosen by measurement for a laptop CPU."""

    name: str
    vocab_size: int  # WordPiece vocabulary trained on the corpus
    max_seq_length: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    batch_size: int
    learning_rate: float
    steps: int
    eval_every: int
    dropout: float = 0.1
    warmup_fraction: float = 0.06
    dupe_factor: int = 1  # cuts of the corpus into NSP pairs (the reference's flag)

    def model_config(self, vocab_size: int) -> BertConfig:
        """The BertConfig of this preset for a tokenizer of `vocab_size` tokens."""
        return BertConfig(
            vocab_size=vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            max_position_embeddings=self.max_seq_length,
            hidden_dropout_prob=self.dropout,
            attention_probs_dropout_prob=self.dropout,
        )

    def training_config(self, steps: int | None = None, seed: int = 0,
                        **overrides: Any) -> TrainingConfig:
        """The TrainingConfig of this preset (steps and other fields can be overridden)."""
        settings = {"batch_size": self.batch_size, "learning_rate": self.learning_rate,
                    "warmup_fraction": self.warmup_fraction, "eval_every": self.eval_every}
        settings.update(overrides)
        return TrainingConfig(steps=steps or self.steps, seed=seed, **settings)


# Chosen by measurement on the 2-core CPU (2 threads, 0.14-0.15 s per default step; chapter
# 05's appendix lists what else was tried). "default" fills the five-minute budget: 1,800 steps. A
# learning rate of 5e-3 collapses to the unigram solution, 1e-3 learns slower than 2e-3, and
# batch 32, 2-3 layers or hidden 64-96 are no better per second. The NSP pairs are cut ten
# times (the reference's dupe_factor), else the model memorizes which pairs are negatives.
# "long" is the same model for 8,000 steps (13-25 minutes): only after ~5,000 steps does it
# start to copy names and facts from elsewhere in the document, and beat counting clearly. The
# course model (bertlab.course_model) is a "long" run.
# "tiny" is for quick mode and tests: a few seconds, and it still learns.
_DEFAULT = Preset("default", vocab_size=4000, max_seq_length=64, hidden_size=128, num_layers=4,
                  num_heads=4, intermediate_size=512, batch_size=64, learning_rate=2e-3,
                  steps=1800, eval_every=150, dropout=0.0, dupe_factor=10)
PRESETS: dict[str, Preset] = {  # smallest first: a later preset may stand in for an earlier one
    "tiny": Preset("tiny", vocab_size=1000, max_seq_length=64, hidden_size=64, num_layers=2,
                   num_heads=2, intermediate_size=256, batch_size=32, learning_rate=2e-3,
                   steps=250, eval_every=50, dropout=0.0),
    "default": _DEFAULT,
    "long": replace(_DEFAULT, name="long", steps=8000, eval_every=500),
}


MASKINGS = ("dynamic", "static")


@dataclass(frozen=True)
class Recipe:
    """Which of BERT's pretraining choices a run makes: what chapter 07 ablates, one at a time.

    objective: "nsp" (BERT), "sop" (ALBERT) or "none" (RoBERTa's DOC-SENTENCES, MLM only);
    masking: "dynamic" (a fresh mask every epoch, RoBERTa) or "static" (one per pair, BERT);
    mask_prob: the share of tokens the model predicts. The held-out pairs are made for the
    same objective but always masked at 15%, so held-out MLM scores compare across rates.
    """

    objective: str = "nsp"
    masking: str = "dynamic"
    mask_prob: float = MASK_PROB

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; choose one of {OBJECTIVES}")
        if self.masking not in MASKINGS:
            raise ValueError(f"unknown masking {self.masking!r}; choose one of {MASKINGS}")
        if not 0.0 < self.mask_prob < 1.0:
            raise ValueError(f"mask_prob must be between 0 and 1, got {self.mask_prob}")


def get_preset(name: str | Preset) -> Preset:
    """Look a preset up by name, with the list of names in the error."""
    if isinstance(name, Preset):
        return name
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


# ============================================================================ data


@dataclass
class PretrainingData:
    """A corpus made ready for pretraining: tokenizer, pair datasets, and held-out material."""

    tokenizer: BertTokenizer
    train: PretrainingDataset
    held_out: PretrainingDataset
    train_documents: list[list[str]]
    held_out_documents: list[list[str]]
    blanks: list[Any] | None  # chapter 00's fill-in blanks (TinyWorld only)
    recipe: Recipe = Recipe()


def load_corpus(corpus: Any = None) -> tuple[list[list[str]], list[list[str]], list[Any] | None]:
    """Training documents, held-out documents and (for TinyWorld) the fill-in blanks.

    `corpus` is None or "tinyworld" (the default TinyWorld, the one chapter 00 scores on), a
    TinyWorld, or the path of a text file in BERT's format (one sentence a line, blank line
    between documents), whose last 10% of documents are held out.
    """
    from bertlab.tinyworld.corpus import TinyWorld, generate_corpus, read_bert_text
    from bertlab.tinyworld.ngram import HELD_OUT, fill_in_benchmark

    if corpus is None or corpus == "tinyworld" or isinstance(corpus, TinyWorld):
        world = generate_corpus() if corpus is None else corpus
        train, blanks = fill_in_benchmark(world)
        return train.as_documents(), world.split(HELD_OUT)[1].as_documents(), blanks
    path = Path(corpus)
    if not path.is_file():
        raise FileNotFoundError(f"no corpus file at {path}: give 'tinyworld' or a text file in "
                                "BERT format (one sentence per line, blank line between documents)")
    documents = read_bert_text(path)
    if len(documents) < 4:
        raise ValueError(f"{path} holds {len(documents)} document(s); pretraining needs several "
                         "(separate documents with a blank line)")
    cut = len(documents) - max(2, round(len(documents) * HELD_OUT))
    return documents[:cut], documents[cut:], None


def prepare_data(
    preset: Preset,
    corpus: Any = None,
    seed: int = 0,
    tokenizer: BertTokenizer | None = None,
    recipe: Recipe = Recipe(),
) -> PretrainingData:
    """Train a WordPiece vocabulary on the training documents (unless given one), make pairs
    (or single segments) for the recipe's objective, masked as it says."""
    train_docs, held_out_docs, blanks = load_corpus(corpus)
    if tokenizer is None:
        sentences = [s for doc in train_docs for s in doc]
        tokenizer = FastBertTokenizer.train(sentences, preset.vocab_size)  # the fast path
    train = PretrainingDataset.from_documents(
        train_docs, tokenizer, preset.max_seq_length, seed, dynamic=recipe.masking == "dynamic",
        dupe_factor=preset.dupe_factor, objective=recipe.objective, mask_prob=recipe.mask_prob)
    if recipe.objective == "nsp":
        _check_nsp_labels(train.pairs, "the corpus" if corpus is None else str(corpus))
    held_out = PretrainingDataset.from_documents(held_out_docs, tokenizer, preset.max_seq_length,
                                                 seed + 1, dynamic=False,
                                                 objective=recipe.objective)
    return PretrainingData(tokenizer, train, held_out, train_docs, held_out_docs, blanks, recipe)


def _check_nsp_labels(pairs: Sequence[NspPair], source: str) -> None:
    """Refuse text that makes (almost) only one kind of NSP pair: its NSP accuracy means nothing."""
    negatives = sum(pair.is_random_next for pair in pairs)
    if min(negatives, len(pairs) - negatives) < MIN_NSP_SHARE * len(pairs):
        raise ValueError(
            f"{source} makes {len(pairs) - negatives} true-next and {negatives} random-next "
            f"pairs out of {len(pairs)}: next-sentence prediction needs plenty of both. A "
            "true pair needs documents of two or more sentences: write one sentence per line "
            "and a blank line only between documents (a double-spaced file, or one sentence "
            "per document, makes every sentence a document of its own)"
        )


def build_model(preset: Preset, vocab_size: int, seed: int = 0) -> BertForPreTraining:
    """A freshly initialized BertForPreTraining of a preset's size; the seed fixes the weights."""
    torch.manual_seed(seed)
    return BertForPreTraining(preset.model_config(vocab_size))


# ============================================================ a run: pretrain, resume checks


@dataclass
class PretrainingRun:
    """What `pretrain` returns: the model, its tokenizer and data, and how training went."""

    model: BertForPreTraining
    tokenizer: BertTokenizer
    trainer: Pretrainer
    data: PretrainingData
    preset: Preset
    seconds: float

    @property
    def history(self) -> TrainingHistory:
        return self.trainer.history

    @property
    def finished(self) -> bool:
        """Whether every step of the schedule ran (not stopped early or interrupted)."""
        return self.trainer.step == self.trainer.config.steps


def pretrain(
    preset: str | Preset | None = None,
    output_dir: str | Path | None = None,
    *,
    steps: int | None = None,
    corpus: Any = None,
    seed: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: Sequence[Callable[[Pretrainer, StepLog | EvalResult], None]] = (),
    progress: bool = True,
    device: str | None = None,
    data: PretrainingData | None = None,
    until: int | None = None,
    score_fill_in: bool = True,
    weights_dtype: torch.dtype = torch.float32,
    objective: str | None = None,
    masking: str | None = None,
    mask_prob: float | None = None,
    **training_overrides: Any,
) -> PretrainingRun:
    """Pretrain a BERT of a preset's size on a corpus; save it to output_dir when finished.

    Defaults: preset "default", TinyWorld, seed 0. An output_dir that holds a run already is
    refused, unless overwrite=True (start over) or resume=True: continue from its checkpoint
    (same tokenizer, same config) to the numbers an uninterrupted run would have given;
    settings left out are the saved run's, and settings that contradict it are an error.
    `data` reuses what prepare_data(preset, corpus, seed) already built. `until` stops after
    that step of the schedule (a checkpoint is saved; resume finishes the run). Every
    evaluation also scores chapter 00's fill-in blanks when the corpus has them and
    `score_fill_in` is on. `weights_dtype` is how the finished model's weights are stored.
    objective, masking and mask_prob make the run's `Recipe` (default: BERT's objective with
    dynamic masking at 15%); a resume checks them like the other settings.
    """
    if resume and overwrite:
        raise ValueError("resume=True continues the saved run, overwrite=True replaces it: "
                         "choose one")
    preset = get_preset(preset) if preset is not None else None  # resolved once, here
    state = None
    if output_dir is not None:
        output_dir = Path(output_dir)
        state = _prepare_output_dir(output_dir, resume, overwrite)
    requested = {"objective": objective, "masking": masking, "mask_prob": mask_prob}
    if state is not None:
        preset, corpus, config, recipe = _resumed_settings(
            state, output_dir, preset, corpus, seed, steps, training_overrides, requested)
    else:
        preset = preset or PRESETS["default"]
        config = preset.training_config(steps, seed or 0, **training_overrides)
        recipe = Recipe(**{name: value for name, value in requested.items() if value is not None})
    checkpoint = output_dir / CHECKPOINT_DIR if state is not None else None
    if data is None:
        tokenizer = FastBertTokenizer.from_pretrained(checkpoint) if checkpoint else None
        data = prepare_data(preset, corpus, config.seed, tokenizer, recipe)
    elif data.recipe != recipe:
        raise ValueError(f"the data given was made for {data.recipe}, the run asks for {recipe}")
    if checkpoint:
        model = BertForPreTraining(BertConfig.from_pretrained(checkpoint))
    else:
        model = build_model(preset, data.tokenizer.vocab_size, config.seed)
    fill_in = None
    if score_fill_in and data.blanks:
        fill_in = FillInTask(data.tokenizer, data.blanks, data.held_out_documents,
                             one_segment=data.recipe.objective == "none")
    trainer = Pretrainer(model, data.train, config, data.held_out, tokenizer=data.tokenizer,
                         output_dir=output_dir, device=device, callbacks=callbacks,
                         progress=progress, fill_in=fill_in)
    trainer.run_info = {"preset": asdict(preset), "corpus": _describe_corpus(corpus),
                        "recipe": asdict(recipe)}
    if checkpoint:
        trainer.load_checkpoint()
    started = time.perf_counter()
    trainer.train(until)
    seconds = time.perf_counter() - started
    run = PretrainingRun(model, data.tokenizer, trainer, data, preset, seconds)
    if output_dir is not None and run.finished and trainer.dist.rank == 0:
        save_run(run, output_dir, weights_dtype)
    return run


def existing_run(output_dir: str | Path) -> list[str]:
    """The files of an earlier run in output_dir (checkpoints, a finished model); [] if none."""
    names = [CHECKPOINT_DIR, CHECKPOINT_DIR + ".partial", CHECKPOINT_DIR + ".old", RUN_INFO,
             "model.safetensors"]
    return [name for name in names if (Path(output_dir) / name).exists()]


def _prepare_output_dir(output_dir: Path, resume: bool, overwrite: bool) -> dict[str, Any] | None:
    """Check output_dir before any training, clear it (overwrite) or recover its checkpoint
    (resume); the saved trainer state when resuming one, else None."""
    found = existing_run(output_dir)
    if found and not (resume or overwrite):
        raise FileExistsError(
            f"{output_dir} already holds a pretraining run ({', '.join(found)}): resume=True "
            "(--resume) continues it, overwrite=True (--overwrite) starts over, or choose "
            "another output directory"
        )
    try:  # fail now, not after training, when nothing could be saved there
        output_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=output_dir).close()
    except OSError as error:
        raise PermissionError(f"cannot write to the output directory {output_dir} "
                              f"({error.strerror}): choose another") from None
    dist = Distributed()
    dist.barrier()  # every process has looked before the first one changes anything
    if dist.rank == 0 and overwrite:
        for name in found:
            path = output_dir / name
            if name != "model.safetensors":  # replaced when the new run saves
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    if dist.rank == 0 and resume:
        recover_checkpoint(output_dir)
    dist.barrier()
    if not resume:
        return None
    state_file = output_dir / CHECKPOINT_DIR / "trainer_state.json"
    if state_file.is_file():
        return json.loads(state_file.read_text())
    if found:
        raise FileNotFoundError(f"{output_dir} holds {', '.join(found)} but no complete "
                                "checkpoint to resume from: overwrite=True (--overwrite) starts "
                                "over")
    print(f"No checkpoint in {output_dir}: starting from scratch.")
    return None


_RESUME_FREE = ("accumulation_steps", "eval_every", "checkpoint_every")  # change no number


def _describe_corpus(corpus: Any) -> dict[str, Any]:
    """What a checkpoint records of its corpus: a name, and a file's sha256 (its contents)."""
    if corpus is None or corpus == "tinyworld":
        return {"name": "tinyworld"}
    if not isinstance(corpus, str | Path):  # a TinyWorld
        return {"name": f"TinyWorld(seed={corpus.seed}, {len(corpus.documents)} documents)"}
    path = Path(corpus).resolve()
    return {"name": str(path), "sha256": sha256(path) if path.is_file() else None}


def _conflict(flag: str, requested: Any, saved: Any, output_dir: Path,
              advice: str = "") -> ValueError:
    return ValueError(
        f"--{flag.replace('_', '-')} {requested} contradicts the run saved in {output_dir}, "
        f"which has {flag} {saved}: {advice or 'leave the flag out to continue that run'}, or "
        "start a new run with overwrite=True (--overwrite) or in another directory"
    )


def _resumed_settings(
    state: dict[str, Any], output_dir: Path, preset: Preset | None, corpus: Any,
    seed: int | None, steps: int | None, overrides: dict[str, Any],
    recipe_request: dict[str, Any],
) -> tuple[Preset, Any, TrainingConfig, Recipe]:
    """The saved run's preset, corpus, TrainingConfig and Recipe, after checking each requested
    setting against it: a resume continues the same run or refuses, it never relabels it."""
    config = TrainingConfig(**state["training_config"])
    run = state.get("run", {})
    recipe = Recipe(**run.get("recipe", {}))  # runs saved before recipes were BERT's, dynamic
    for name, value in recipe_request.items():
        if value is not None and value != getattr(recipe, name):
            raise _conflict(name, value, getattr(recipe, name), output_dir)
    saved_preset = Preset(**run["preset"]) if "preset" in run else None
    if preset is not None and saved_preset is not None and preset != saved_preset:
        raise _conflict("preset", preset.name, saved_preset.name, output_dir)
    preset = saved_preset or preset or PRESETS["default"]
    if seed is not None and seed != config.seed:
        raise _conflict("seed", seed, config.seed, output_dir)
    if steps is not None and steps != config.steps:
        raise _conflict("steps", steps, config.steps, output_dir,
                        f"its learning rate decays to zero at step {config.steps}, so that "
                        "schedule cannot be stretched or cut")
    for name, value in overrides.items():
        if name not in TrainingConfig.__dataclass_fields__:
            raise TypeError(f"pretrain() got an unknown training setting {name!r}")
        if name not in _RESUME_FREE and value != getattr(config, name):
            raise _conflict(name, value, getattr(config, name), output_dir)
    config = replace(config, **{n: v for n, v in overrides.items() if n in _RESUME_FREE})
    saved_corpus = run.get("corpus")
    if saved_corpus is not None:
        if corpus is None and saved_corpus["name"] != "tinyworld":
            if saved_corpus.get("sha256") is None:
                raise ValueError(f"the run in {output_dir} trained on {saved_corpus['name']}: "
                                 "pass that corpus again to resume it")
            corpus = Path(saved_corpus["name"])
        requested = _describe_corpus(corpus)
        same = (requested["sha256"] == saved_corpus["sha256"] if "sha256" in saved_corpus
                and "sha256" in requested else requested["name"] == saved_corpus["name"])
        if not same:
            changed = " (its contents changed)" if requested["name"] == saved_corpus["name"] else ""
            raise _conflict("corpus", requested["name"] + changed, saved_corpus["name"],
                            output_dir)
    return preset, corpus, config, recipe


def save_run(run: PretrainingRun, directory: str | Path,
             weights_dtype: torch.dtype = torch.float32) -> Path:
    """Save the model with its vocab.txt, plus pretraining.json (preset, steps, final scores).

    Weights stored in a smaller dtype (float16 halves the file) are loaded back and scored
    again, so pretraining.json says what the rounding cost ("held_out_as_saved").
    """
    directory = Path(directory)
    run.model.save_pretrained(directory, tokenizer=run.tokenizer, dtype=weights_dtype)
    last_eval = run.history.evals[-1] if run.history.evals else None
    info = {
        "preset": run.preset.name,
        "steps": run.trainer.step,
        "seconds": round(run.seconds, 1),
        "weights_dtype": str(weights_dtype).removeprefix("torch."),
        "held_out": asdict(last_eval) if last_eval else None,
        "preset_settings": asdict(run.preset),
        "recipe": asdict(run.data.recipe),
    }
    if last_eval is not None and weights_dtype != torch.float32:
        saved = BertForPreTraining.from_pretrained(directory).to(run.trainer.device)
        info["held_out_as_saved"] = asdict(run.trainer.evaluate_held_out(model=saved))
    (directory / RUN_INFO).write_text(json.dumps(info, indent=1) + "\n")
    return directory


# ============================================================ chapter 06's pretrained model


def _saved_preset(directory: Path) -> str | None:
    """The preset of a finished model saved in `directory`, or None when there is none."""
    needed = ("config.json", "model.safetensors", "vocab.txt", RUN_INFO)
    if not all((directory / name).is_file() for name in needed):
        return None
    return json.loads((directory / RUN_INFO).read_text()).get("preset")


def _rank(preset: str | None) -> int:
    return list(PRESETS).index(preset) if preset in PRESETS else -1


def pretrained_model_dir(preset: str | Preset = "default") -> Path:
    """Where a run of `preset` should save for chapter 06: artifacts/tinybert, unless a bigger
    preset's model lives there already (then artifacts/tinybert-<preset>, leaving it alone)."""
    from bertlab.environment import artifacts_dir

    name = get_preset(preset).name
    main = artifacts_dir() / PRETRAINED_MODEL_DIR
    if _rank(_saved_preset(main)) > _rank(name):
        return artifacts_dir() / f"{PRETRAINED_MODEL_DIR}-{name}"
    return main


def load_or_pretrain(
    preset: str | Preset | None = None,
    directory: str | Path | None = None,
    progress: bool = True,
) -> tuple[BertForPreTraining, BertTokenizer]:
    """The pretrained TinyWorld BERT for chapter 06: load it, or pretrain one if it is missing.

    Loads artifacts/tinybert when it holds a model of `preset` or a bigger one (default
    preset: "default", or "tiny" in quick mode); otherwise pretrains and saves one there.
    """
    from bertlab.environment import artifacts_dir, pick

    preset = get_preset(preset if preset is not None else str(pick("default", "tiny")))
    name = preset.name
    where = Path(directory) if directory is not None else artifacts_dir() / PRETRAINED_MODEL_DIR
    if _rank(_saved_preset(where)) >= _rank(name):
        model = BertForPreTraining.from_pretrained(where)
        return model, BertTokenizer.from_pretrained(where)
    print(f"No pretrained model of preset {name!r} in {where}: pretraining one now.")
    run = pretrain(preset, where, progress=progress, overwrite=True)  # no finished model is lost
    return run.model.eval(), run.tokenizer


# ============================================================================ the command line

WEIGHT_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: corpus, size preset, steps, output directory, resume."""
    parser = argparse.ArgumentParser(
        prog="python -m bertlab.pretrain",
        description="MLM + NSP pretraining of a small BERT (also under torchrun).",
    )
    parser.add_argument("--corpus", default=None,
                        help="'tinyworld' (default) or a text file in BERT format: one sentence "
                             "per line, a blank line between documents")
    parser.add_argument("--preset", default=None, choices=sorted(PRESETS),
                        help="model size and training budget (default: default)")
    parser.add_argument("--steps", type=int, default=None,
                        help="optimizer steps (default: the preset's)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="sequences per step over all processes (default: the preset's)")
    parser.add_argument("--accumulation-steps", type=int, default=None,
                        help="split each process's share of a batch into this many passes "
                             "(default: 1)")
    parser.add_argument("--eval-every", type=int, default=None,
                        help="evaluate on held-out text every N steps (0: only at the end)")
    parser.add_argument("--checkpoint-every", type=int, default=None,
                        help="save a checkpoint every N steps (always at the end and on Ctrl-C)")
    parser.add_argument("--stop-after", type=int, default=None, metavar="STEP",
                        help="stop after this step of the schedule and save a checkpoint "
                             "(finish later with --resume)")
    parser.add_argument("--objective", default=None, choices=OBJECTIVES,
                        help="the task beside MLM: nsp (BERT, default), sop (ALBERT's sentence "
                             "order) or none (RoBERTa: whole sentences of one document)")
    parser.add_argument("--masking", default=None, choices=MASKINGS,
                        help="dynamic (a fresh mask every epoch, RoBERTa; default) or static "
                             "(one mask per pair, BERT)")
    parser.add_argument("--mask-prob", type=float, default=None,
                        help=f"share of tokens to predict (default: {MASK_PROB})")
    parser.add_argument("--weights-dtype", default="float32", choices=sorted(WEIGHT_DTYPES),
                        help="how the finished model's weights are stored (float16 halves the "
                             "file; its held-out scores are measured again after rounding)")
    parser.add_argument("--seed", type=int, default=None, help="(default: 0)")
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUTPUT_DIR/checkpoint if there is one")
    parser.add_argument("--overwrite", action="store_true",
                        help="start over, replacing the run already in OUTPUT_DIR")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--log-file", default="log.jsonl",
                        help="per-step losses and evaluations, written in OUTPUT_DIR")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size", "accumulation_steps", "stop_after"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.mask_prob is not None and not 0.0 < args.mask_prob < 1.0:
        parser.error("--mask-prob must be between 0 and 1")
    if args.resume and args.overwrite:
        parser.error("--resume continues the run in OUTPUT_DIR, --overwrite replaces it: "
                     "choose one")
    return args


class JsonLog:
    """A callback that appends every step and evaluation to a JSON-lines file, each step once.

    The file is opened at once, so a path that cannot be written fails before training. A
    resumed run redoes the steps after its checkpoint: their old records are dropped first.
    """

    def __init__(self, path: Path, start_over: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.file = path.open("w" if start_over else "a", encoding="utf-8")
        self.trimmed = False

    def _drop_records_from(self, step: int) -> None:
        """Keep only the records before `step` (and no line a crash cut short)."""
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) < step:
                    kept.append(line + "\n")
            except json.JSONDecodeError:
                pass
        self.file.close()
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text("".join(kept), encoding="utf-8")
        os.replace(partial, self.path)
        self.file = self.path.open("a", encoding="utf-8")

    def __call__(self, trainer: object, record: StepLog | EvalResult) -> None:
        if not self.trimmed:
            self._drop_records_from(record.step)
            self.trimmed = True
        kind = "step" if isinstance(record, StepLog) else "eval"
        self.file.write(json.dumps({"kind": kind, **record.__dict__}) + "\n")
        self.file.flush()


def _setup_distributed(device: str | None) -> tuple[str | None, int]:
    """Join the torchrun job when there is one; return the device to use and this rank."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device, 0
    distributed = torch.distributed
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    distributed.init_process_group("nccl" if use_cuda else "gloo")
    return device or "cpu", distributed.get_rank()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; 0 when training finished, 130 when it was interrupted."""
    args = parse_args(argv)
    device, rank = _setup_distributed(args.device)
    overrides = {name: getattr(args, name) for name in
                 ("batch_size", "accumulation_steps", "eval_every", "checkpoint_every")
                 if getattr(args, name) is not None}
    log_file = args.output_dir / args.log_file
    if not (args.resume or args.overwrite) and log_file.is_file() and log_file.stat().st_size:
        raise FileExistsError(f"{log_file} holds the log of an earlier run: --resume continues "
                              "that run, --overwrite starts over")
    callbacks = [JsonLog(log_file, start_over=args.overwrite)] if rank == 0 else []
    started, commit = time.perf_counter(), code_commit()  # the code the run starts from
    try:
        run = pretrain(
            args.preset,
            args.output_dir,
            steps=args.steps,
            corpus=args.corpus,
            seed=args.seed,
            resume=args.resume,
            overwrite=args.overwrite,
            callbacks=callbacks,
            progress=not args.no_progress,
            device=device,
            until=args.stop_after,
            weights_dtype=WEIGHT_DTYPES[args.weights_dtype],
            objective=args.objective,
            masking=args.masking,
            mask_prob=args.mask_prob,
            **overrides,
        )
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if run.trainer.interrupted:
        return 130
    if not run.finished:
        if rank == 0:
            print(f"Stopped after step {run.trainer.step} of {run.trainer.config.steps} as asked; "
                  "continue with --resume.")
        return 0
    if rank == 0:
        argv = list(sys.argv[1:] if argv is None else argv)
        write_manifest(args.output_dir, ["python", "-m", "bertlab.pretrain", *argv],
                       seed=run.trainer.config.seed, wall_seconds=time.perf_counter() - started,
                       train_seconds=run.trainer.seconds, commit=commit)
    if rank == 0 and run.history.evals:
        last = run.history.evals[-1]
        pair = (f", NSP accuracy {last.nsp_accuracy:.3f}" if last.nsp_accuracy is not None else
                f", SOP accuracy {last.sop_accuracy:.3f}" if last.sop_accuracy is not None else "")
        print(f"step {last.step}: held-out masked-token accuracy {last.mlm_accuracy:.3f}"
              f"{pair}; saved to {args.output_dir} in {run.seconds:.0f} s")
    return 0


def replay(manifest: dict[str, Any], output_dir: str | Path, steps: int) -> list[dict[str, Any]]:
    """Run a manifest's command again for its first `steps` steps (with the run's thread count);
    their logged losses, to set beside the shipped log: the run's provenance."""
    argv = list(manifest["argv"])
    if "--output-dir" in argv:
        argv[argv.index("--output-dir") + 1] = str(output_dir)
    else:
        argv += ["--output-dir", str(output_dir)]
    log_file = argv[argv.index("--log-file") + 1] if "--log-file" in argv else "log.jsonl"
    threads = torch.get_num_threads()
    torch.set_num_threads(manifest["machine"]["torch_threads"])
    try:
        if main([*argv, "--stop-after", str(steps), "--no-progress"]) != 0:
            raise RuntimeError(f"replaying {manifest['command']!r} failed")
    finally:
        torch.set_num_threads(threads)
    with (Path(output_dir) / log_file).open(encoding="utf-8") as file:
        return [record for record in map(json.loads, file) if record["kind"] == "step"]


if __name__ == "__main__":
    sys.exit(main())
