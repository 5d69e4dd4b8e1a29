"""One training loop for pretraining (chapter 05) and fine-tuning (chapter 06).

Like minGPT's trainer, `Trainer` knows nothing about BERT. A subclass says what optimizer step
`step` trains on, `examples(step)` (all processes' shares; a function of the step, so a resume
sees the same), how a micro-batch of them becomes tensors, `collate(examples)`, its loss terms,
`loss(batch)` {name: tensor} computed with self.module, and what each term's total over the
step is divided by, `divisors(examples)` (a sum: its count, so any split of the step into
micro-batches and processes gives the same update; a mean: 1). The loop does the rest, each in
a few lines: AdamW, warmup then linear decay, clipping, accumulation, DistributedDataParallel
under torchrun, an evaluation hook, callbacks, Ctrl-C, and checkpoints that resume to the very
same numbers (their file work is in `bertlab.checkpoint`, off the reading path).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bertlab import checkpoint


@dataclass
class TrainingConfig:
    """Every knob of a training run (saved in checkpoints; a resume reuses it)."""

    steps: int
    batch_size: int = 64  # sequences per optimizer step, over all processes and micro-batches
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    adam_epsilon: float = 1e-6  # BERT pretraining's; fine-tuning keeps torch's 1e-8
    max_grad_norm: float = 1.0
    accumulation_steps: int = 1
    eval_every: int = 100  # 0: only at the end
    eval_examples: int = 512  # held-out examples scored at each evaluation
    checkpoint_every: int = 0  # 0: only at the end and on interruption
    seed: int = 0
    mixed_precision: bool = True  # bf16 autocast when training on a GPU

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "accumulation_steps", "eval_examples"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainingConfig.{name} must be a positive integer, got {value!r}")
        for name in ("eval_every", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainingConfig.{name} must be >= 0")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")

    @property
    def warmup_steps(self) -> int:
        """Optimizer steps spent warming up the learning rate."""
        return round(self.steps * self.warmup_fraction)


def linear_warmup_decay(step: int, warmup_steps: int, total_steps: int) -> float:
    """The learning-rate multiplier: 0 -> 1 over warmup, then linearly back to 0 at the end.

    Warmup keeps Adam's first, badly estimated updates small; the decay lets the last steps
    settle. `step` counts optimizer steps already taken (LambdaLR's convention).
    """
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def adamw_param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Decay matrices only: biases and LayerNorm weights (1-D) are left alone, as BERT does."""
    decay, no_decay = [], []
    for _, parameter in model.named_parameters():
        if parameter.requires_grad:
            (decay if parameter.dim() >= 2 else no_decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


@dataclass(frozen=True)
class StepLoss:
    """One optimizer step: the loss over its whole global batch, the learning rate used and
    the gradient norm before clipping. (Pretraining logs its two terms too: StepLog.)"""

    step: int
    loss: float
    learning_rate: float
    grad_norm: float


@dataclass
class TrainingHistory:
    """Everything logged so far; saved with checkpoints so plots continue after a resume."""

    steps: list[Any] = field(default_factory=list)
    evals: list[Any] = field(default_factory=list)

    def losses(self) -> list[float]:
        """The total loss of every step, in order."""
        return [s.loss for s in self.steps]


class Trainer:
    """The loop: steps, evaluation, callbacks, checkpoints and exact resume, for any model.

    `evaluate(trainer)` runs every eval_every steps and at the end; what it returns (unless
    None) is logged and passed, like each step's record, to every `callback(trainer, record)`.
    """

    step_record: Callable[..., Any] = StepLoss  # what step_log makes, read back from checkpoints
    eval_record: Callable[..., Any] = dict  # what `evaluate` returns, likewise

    def __init__(self, model: nn.Module, config: TrainingConfig, *,
                 evaluate: Callable[[Any], Any] | None = None,
                 callbacks: Sequence[Callable[[Any, Any], None]] = (), tokenizer: Any = None,
                 output_dir: str | Path | None = None, device: str | torch.device | None = None,
                 progress: bool = True, desc: str = "training") -> None:
        self.dist = checkpoint.Distributed()
        if config.batch_size % (self.dist.world * config.accumulation_steps):
            raise ValueError(f"batch_size={config.batch_size} must split evenly over "
                             f"{self.dist.world} process(es) x {config.accumulation_steps} "
                             "accumulation step(s)")
        self.config, self.evaluate, self.callbacks = config, evaluate, list(callbacks)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model, self.tokenizer = model.to(self.device), tokenizer
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.progress, self.desc = progress and self.dist.rank == 0, desc
        self.step, self.seconds = 0, 0.0  # seconds: training time so far, over every resume
        self.history, self.run_info = TrainingHistory(), {}  # run_info: checked on resume
        # interrupted: by Ctrl-C; stop_requested: set by a hook or callback (early stopping)
        self.interrupted = self.stop_requested = False
        self.optimizer = torch.optim.AdamW(adamw_param_groups(model, config.weight_decay),
                                           lr=config.learning_rate, betas=(0.9, 0.999),
                                           eps=config.adam_epsilon)
        warmup, steps = config.warmup_steps, config.steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: linear_warmup_decay(step, warmup, steps))
        self.module = self.wrap(self.model)  # what `loss` calls; under torchrun, DDP wraps it
        if self.dist.active:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.module = nn.parallel.DistributedDataParallel(self.module, device_ids=ids)
        # this process's dropout stream, owned by the trainer: code that draws random numbers
        # between or during train() calls (callbacks too) cannot shift it
        self.rng_state = checkpoint.seeded_rng_state(config.seed * 1009 + self.dist.rank,
                                                     self.device)
        self._training = self._in_step = self._optimizer_stepping = False

    # -- what a subclass says (besides examples, collate, loss and divisors) -----------------

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module whose forward `loss` calls (DDP wraps it): the model itself by default."""
        return model

    def step_log(self, step: int, losses: dict[str, float], learning_rate: float,
                 grad_norm: float) -> Any:
        """The record of a step, from its loss terms (divided by their divisors)."""
        return self.step_record(step, sum(losses.values()), learning_rate, grad_norm)

    # -- one step -----------------------------------------------------------------------------

    def autocast(self) -> Any:
        """bf16 autocast on a GPU (when config.mixed_precision), else nothing."""
        if self.device.type == "cuda" and self.config.mixed_precision:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def _train_step(self) -> Any:
        config, dist = self.config, self.dist
        examples = self.examples(self.step)
        # normalize by the whole step's counts, so any split of the batch gives the same update
        divisors = self.divisors(examples)
        per_process = len(examples) // dist.world
        mine = examples[dist.rank * per_process:(dist.rank + 1) * per_process]  # DDP: my share
        micro = per_process // config.accumulation_steps
        self.module.train()
        totals = torch.zeros(len(divisors), device=self.device)
        for k in range(config.accumulation_steps):  # gradient accumulation
            batch = {name: t.to(self.device) for name, t in
                     self.collate(mine[k * micro:(k + 1) * micro]).items()}
            no_sync = dist.active and k < config.accumulation_steps - 1  # DDP syncs the last
            with self.module.no_sync() if no_sync else nullcontext(), self.autocast():
                terms = self.loss(batch)
            # DDP averages gradients over processes; multiplying by world undoes that average
            loss = sum(terms[name] / divisor for name, divisor in divisors.items()) * dist.world
            loss.backward()
            totals += torch.stack([terms[name].detach() for name in divisors])
        totals = dist.sum(totals)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.max_grad_norm)
        learning_rate = self.scheduler.get_last_lr()[0]
        self._optimizer_stepping = True
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self._in_step = self._optimizer_stepping = False
        losses = {name: float(total) / divisor
                  for total, (name, divisor) in zip(totals, divisors.items(), strict=True)}
        return self.step_log(self.step, losses, learning_rate, float(grad_norm))

    def _own_rng(self) -> Any:
        """Run a block on a fork of the global RNG, which is restored afterwards."""
        return torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else [])

    # -- the loop -----------------------------------------------------------------------------

    def _emit(self, record: Any) -> None:
        is_step = isinstance(record, self.step_record)  # type: ignore[arg-type]
        (self.history.steps if is_step else self.history.evals).append(record)
        if self.dist.rank == 0:
            with self._own_rng():
                for callback in self.callbacks:
                    callback(self, record)

    def train(self, until: int | None = None) -> TrainingHistory:
        """Train from the current step to `until` (default: config.steps), then save.

        Ctrl-C (or a KeyboardInterrupt raised by a callback) stops the run after the current
        step and saves a checkpoint to output_dir, so it can resume with nothing lost.
        """
        end = self.config.steps if until is None else min(until, self.config.steps)
        self.interrupted = self.stop_requested = False
        from tqdm.auto import tqdm  # a widget in a notebook: imported only to train

        with tqdm(total=self.config.steps, initial=self.step, desc=self.desc, unit="step",
                  disable=not self.progress, mininterval=1.0, dynamic_ncols=True) as bar, \
                checkpoint.interruptible(self) as ctrl_c:  # on the trainer's own RNG stream
            while self.step < end and not (self.interrupted or self.stop_requested):
                self._run_step(bar)
                stop = torch.tensor([float(ctrl_c.requested)], device=self.device)
                self.interrupted = bool(self.dist.sum(stop) > 0)  # all processes stop
        if self.interrupted:
            where = self.save_checkpoint() if self.output_dir is not None else None
            if self.dist.rank == 0:
                saved = f"; checkpoint saved to {where}" if where else ""
                print(f"Stopped after step {self.step} of {self.config.steps}{saved}.")
        elif self.output_dir is not None:
            self.save_checkpoint()
        return self.history

    def _run_step(self, bar: Any) -> None:
        """One optimizer step, then its log, evaluation and checkpoint when they are due."""
        self._step_start_rng, self._in_step = checkpoint.rng_state(self.device), True
        started = time.perf_counter()
        record = self._train_step()
        self.seconds += time.perf_counter() - started
        self._emit(record)
        bar.update(1)
        bar.set_postfix(loss=f"{record.loss:.3f}", refresh=False)
        every, last = self.config.eval_every, self.step == self.config.steps
        if self.evaluate is not None and self.dist.rank == 0 and (
                (every and self.step % every == 0) or last):
            with self._own_rng():
                result = self.evaluate(self)
            if result is not None:
                self._emit(result)
        every = self.config.checkpoint_every
        if every and self.step % every == 0 and self.output_dir is not None and not last:
            self.save_checkpoint()

    # -- checkpoints: everything a resume needs, swapped in atomically ------------------------

    def save_checkpoint(self, directory: str | Path | None = None) -> Path:
        """Save weights, optimizer, schedule, step, log and every process's RNG state (by
        default to output_dir/checkpoint)."""
        return checkpoint.save(self, Path(directory) if directory else None)

    def load_checkpoint(self, directory: str | Path | None = None) -> None:
        """Restore what save_checkpoint wrote (by default the newest complete checkpoint in
        output_dir); every file must match its digest. The next step is the one that was next."""
        checkpoint.load(self, Path(directory) if directory else None)

    @staticmethod
    def saved_config(directory: str | Path) -> TrainingConfig:
        """The TrainingConfig a checkpoint was trained with."""
        return TrainingConfig(**checkpoint.read_state(Path(directory))["training_config"])
