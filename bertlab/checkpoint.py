"""What lets `bertlab.train` stop, crash and resume exactly, and run under torchrun.

The machinery a learner need not read. A checkpoint is a directory of tensors and JSON, nothing
pickled: the model in transformers' format (config.json, model.safetensors, vocab.txt),
optimizer.safetensors, one rng_state_<rank>.safetensors per process (its dropout stream), and
trainer_state.json (step, config, schedule, log, and the sha256 of every other file). It is
written to checkpoint.partial and swapped in, so a crash at any instant leaves a complete
checkpoint that `recover_checkpoint` finds, and a resume refuses a file that no longer matches
its digest. `StopRequest` turns Ctrl-C into "stop after this step and save"; `Distributed` is
a process's place in a torchrun job.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import Tensor

from bertlab import checkpoint_format
from bertlab.course_model import sha256

CHECKPOINT_DIR = "checkpoint"  # beside it, while one is being replaced: .partial and .old
STATE_FILE = "trainer_state.json"


def directory(trainer: Any) -> Path:
    """Where a trainer's checkpoint lives: output_dir/checkpoint."""
    if trainer.output_dir is None:
        raise ValueError("this trainer has no output_dir to save checkpoints in")
    return trainer.output_dir / CHECKPOINT_DIR


def save(trainer: Any, target: Path | None = None) -> Path:
    """Write what a resume needs to target.partial, trainer_state.json last, then swap it in.

    That is the weights (and tokenizer), AdamW's moments, the schedule, the step, the log, and
    every process's RNG state (its dropout stream); rank 0 writes all but the RNG states.
    """
    target = target if target is not None else directory(trainer)
    rank, barrier = trainer.dist.rank, trainer.dist.barrier
    partial = target.with_name(target.name + ".partial")
    if rank == 0:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        trainer.model.save_pretrained(partial, tokenizer=trainer.tokenizer)
        save_file(_optimizer_tensors(trainer.optimizer), partial / "optimizer.safetensors")
    barrier()
    rng = rng_state(trainer.device) if trainer._training else trainer.rng_state
    save_file(rng, partial / f"rng_state_{rank}.safetensors")
    barrier()
    if rank == 0:
        state = {
            "step": trainer.step,
            "world_size": trainer.dist.world,
            "training_config": asdict(trainer.config),
            "optimizer_param_groups": [dict(group) for group in
                                       trainer.optimizer.state_dict()["param_groups"]],
            "scheduler": trainer.scheduler.state_dict(),
            "seconds": trainer.seconds,
            "history": {"steps": [asdict(s) for s in trainer.history.steps],
                        "evals": [asdict(e) for e in trainer.history.evals]},
            "run": trainer.run_info,
            "files": {path.name: _synced_sha256(path) for path in sorted(partial.iterdir())},
        }
        _write_synced(partial / STATE_FILE, json.dumps(state, indent=1) + "\n")
        _swap_in(partial, target)
    barrier()
    return target


def load(trainer: Any, source: Path | None = None) -> None:
    """Restore what save wrote into a trainer built with the same TrainingConfig.

    Without a source, the newest complete checkpoint in the trainer's output_dir is used (a
    crash while saving may have left it beside checkpoint/). Every file must match its digest.
    """
    if source is None:
        source = directory(trainer)
        if trainer.dist.rank == 0:
            recover_checkpoint(source.parent)
        trainer.dist.barrier()
    state = read_state(source)
    saved = state["training_config"]
    schedule = ("steps", "batch_size", "learning_rate", "warmup_fraction", "seed")
    changed = [name for name in schedule if saved[name] != getattr(trainer.config, name)]
    if changed:
        raise ValueError(
            f"the checkpoint was trained with a different {', '.join(changed)} "
            f"({', '.join(f'{n}={saved[n]}' for n in changed)}): resume with the saved "
            "TrainingConfig (Trainer.saved_config(directory))"
        )
    verify_checkpoint_files(source, state)
    checkpoint_format.load_pretrained_weights(trainer.model, source, strict=True)
    _load_optimizer(trainer.optimizer, source, state["optimizer_param_groups"])
    trainer.scheduler.load_state_dict(state["scheduler"])
    trainer.step = state["step"]
    trainer.seconds = state.get("seconds", 0.0)
    trainer.history = type(trainer.history)(
        [trainer.step_record(**s) for s in state["history"]["steps"]],
        [trainer.eval_record(**e) for e in state["history"]["evals"]])
    trainer.run_info = state.get("run", {})
    trainer.rng_state = _load_rng_state(source, trainer.dist.rank, state["world_size"])


def read_state(directory: Path) -> dict[str, Any]:
    """The trainer_state.json of a checkpoint directory."""
    state_file = directory / STATE_FILE
    if not state_file.is_file():
        raise FileNotFoundError(f"no {STATE_FILE} in {directory}: not a checkpoint")
    return json.loads(state_file.read_text())


def _load_optimizer(optimizer: torch.optim.Optimizer, directory: Path,
                    param_groups: list[dict[str, Any]]) -> None:
    """Restore AdamW's moments from optimizer.safetensors and its settings from the JSON."""
    moments: dict[int, dict[str, Tensor]] = {}
    saved = checkpoint_format.load_safetensors(directory / "optimizer.safetensors")
    for name, tensor in saved.items():
        _, index, key = name.split(".", 2)
        moments.setdefault(int(index), {})[key] = tensor
    groups = [{**group, "betas": tuple(group["betas"])} if "betas" in group else group
              for group in param_groups]
    optimizer.load_state_dict({"state": moments, "param_groups": groups})


def _load_rng_state(directory: Path, rank: int, world_size: int) -> dict[str, Tensor]:
    """This process's saved RNG state (rank 0's, with a warning, if the run had fewer)."""
    rng_file = directory / f"rng_state_{rank}.safetensors"
    if not rng_file.is_file():
        warnings.warn(f"{rng_file.name} is missing (the run had {world_size} process(es)): "
                      "dropout will not repeat the original run", stacklevel=4)
        rng_file = directory / "rng_state_0.safetensors"
    return checkpoint_format.load_safetensors(rng_file)


def rng_state(device: torch.device) -> dict[str, Tensor]:
    """The RNG streams a step draws from (dropout): CPU, and the GPU when training on one."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def seeded_rng_state(seed: int, device: torch.device) -> dict[str, Tensor]:
    """The RNG state torch.manual_seed(seed) makes, without touching the global RNG."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        return rng_state(device)


def set_rng_state(state: dict[str, Tensor], device: torch.device) -> None:
    """Put back what rng_state returned."""
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


def _synced_sha256(path: Path) -> str:
    """Flush a file to disk, then return its sha256 (what resume checks it against)."""
    with path.open("r+b") as file:
        os.fsync(file.fileno())
    return sha256(path)


def _write_synced(path: Path, text: str) -> None:
    """Write a text file and flush it to disk before going on."""
    with path.open("w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _sync_directory(directory: Path) -> None:
    """Make renames inside a directory durable (POSIX; Windows has no directory handles)."""
    if os.name == "posix":
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _swap_in(new: Path, target: Path) -> None:
    """Replace target by new; at every instant one complete checkpoint exists on disk.

    The old checkpoint is renamed aside (target.old), new is renamed into place, and only
    then is the old one removed. recover_checkpoint sorts out whatever a crash leaves.
    """
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    _sync_directory(new)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    _sync_directory(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def _checkpoint_step(directory: Path) -> int | None:
    """The step of a complete checkpoint in directory; None when absent or half-written."""
    try:
        state = json.loads((directory / STATE_FILE).read_text())
    except (OSError, ValueError):  # missing, or cut short by a crash
        return None
    if not all((directory / name).is_file() for name in state.get("files", {})):
        return None  # being removed when the crash came
    return int(state["step"])


def recover_checkpoint(output_dir: str | Path) -> Path | None:
    """Move the newest complete checkpoint into output_dir/checkpoint and remove the others.

    A crash while saving can leave checkpoint.partial (the new one, complete or not),
    checkpoint (new or old) and checkpoint.old (the old one, whole or half-removed). Returns
    output_dir/checkpoint, or None when no complete checkpoint is there.
    """
    target = Path(output_dir) / CHECKPOINT_DIR
    newest_first = [target.with_name(target.name + ".partial"), target,
                    target.with_name(target.name + ".old")]  # the order they were written in
    complete = [(step, -i) for i, path in enumerate(newest_first)
                if (step := _checkpoint_step(path)) is not None]
    if not complete:
        return None
    best = newest_first[-max(complete)[1]]
    if best != target:
        shutil.rmtree(target, ignore_errors=True)
        os.replace(best, target)
        _sync_directory(target.parent)
    for path in newest_first:
        if path != target:
            shutil.rmtree(path, ignore_errors=True)
    return target


def verify_checkpoint_files(directory: Path, state: dict[str, Any]) -> None:
    """Refuse a checkpoint whose files differ from the sha256 digests saved with it."""
    if "files" not in state:
        warnings.warn(f"{directory} has no file digests (saved by an older bertlab): its files "
                      "cannot be checked for corruption", stacklevel=4)
    for name, digest in state.get("files", {}).items():
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the checkpoint")
        if sha256(path) != digest:
            raise ValueError(
                f"{path} does not match the sha256 digest saved in {STATE_FILE}: it was "
                "truncated or corrupted after saving. Restore it, or start over (--overwrite)"
            )


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> dict[str, Tensor]:
    """AdamW's per-parameter state as flat named tensors ('state.3.exp_avg', ...)."""
    tensors = {}
    for index, values in optimizer.state_dict()["state"].items():
        for key, value in values.items():
            if not isinstance(value, Tensor):
                raise TypeError(f"optimizer state {key!r} is not a tensor; cannot save it safely")
            tensors[f"state.{index}.{key}"] = value.detach().contiguous().cpu()
    return tensors



@contextmanager
def interruptible(trainer: Any) -> Iterator[StopRequest]:
    """Run a trainer's steps on its own RNG stream, so that Ctrl-C loses nothing.

    The global RNG is forked (and restored afterwards), so other code cannot shift the dropout
    stream, and the stream is kept in trainer.rng_state. Ctrl-C asks to stop after the current
    step (a second one stops at once); a KeyboardInterrupt inside a step undoes the step (its
    gradients and RNG draws) and sets trainer.interrupted. One during the optimizer update
    itself is raised: the weights are half-updated, the last checkpoint is what remains.
    """
    stop = StopRequest()
    devices = [trainer.device] if trainer.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), stop.installed():
        set_rng_state(trainer.rng_state, trainer.device)
        trainer._training = True
        try:
            yield stop
        except KeyboardInterrupt:
            if trainer._optimizer_stepping:
                raise
            if trainer._in_step:
                trainer.optimizer.zero_grad(set_to_none=True)
                set_rng_state(trainer._step_start_rng, trainer.device)
            trainer.interrupted = True
        finally:
            trainer.rng_state = rng_state(trainer.device)
            trainer._training = trainer._in_step = False


class StopRequest:
    """Turn Ctrl-C (SIGINT) into "stop after this step": the run then saves and returns.

    A second Ctrl-C restores the default behaviour and interrupts at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)
            raise KeyboardInterrupt
        self.requested = True
        print("\nInterrupt received: finishing this step, then saving a checkpoint "
              "(press again to stop at once).", flush=True)

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Handle Ctrl-C this way inside the block (from the main thread only)."""
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, self._previous)


class Distributed:
    """This process's place in a torchrun job (rank 0 of 1 when not distributed)."""

    def __init__(self) -> None:
        self.active = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.rank = torch.distributed.get_rank() if self.active else 0
        self.world = torch.distributed.get_world_size() if self.active else 1

    def sum(self, tensor: Tensor) -> Tensor:
        """Sum a tensor over processes (a no-op alone)."""
        if self.active:
            torch.distributed.all_reduce(tensor)
        return tensor

    def barrier(self) -> None:
        """Wait until every process gets here (a no-op alone)."""
        if self.active:
            torch.distributed.barrier()
