"""What every benchmark shares: interleaved timing, peak memory, FLOPs, the matmul ceiling.

Each benchmark runs bertlab and its peer in one process on the same inputs, taking turns step
by step so that load on a shared machine hits both alike, and reports medians. The scripts
import this module by name (`python benchmarks/<name>.py` puts this folder on sys.path).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode


def interleaved_medians(steps: list[Callable[[], object]], warmup: int, repeats: int,
                        sync: Callable[[], None] = lambda: None) -> list[float]:
    """Median seconds of each step, run in turns (warm-up first) so load noise is shared."""
    for step in steps:
        for _ in range(warmup):
            step()
    sync()
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(repeats):
        for step, record in zip(steps, times, strict=True):
            start = time.perf_counter()
            step()
            sync()
            record.append(time.perf_counter() - start)
    return [statistics.median(record) for record in times]


@dataclass
class Result:
    """One implementation's numbers for one workload."""

    seconds: float
    peak_bytes: int
    flops: int


def matmul_peak_flops(size: int = 2048, repeats: int = 5) -> float:
    """Best fp32 FLOP/s of a square torch.mm on this machine: the ceiling a model can reach."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence the profiler's C++ start/stop lines, which bypass Python's sys.stderr."""
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def peak_memory(step: Callable[[], object]) -> int:
    """Highest bytes the torch CPU allocator holds during one step, above its level at the start."""
    with quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    held = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        held += event.nbytes()
        peak = max(peak, held)
    return peak


def count_flops(step: Callable[[], object]) -> int:
    """Matmul and attention FLOPs of one step, as torch's FLOP counter sees them."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def measure(steps: list[Callable[[], object]], warmup: int, repeats: int) -> list[Result]:
    """Median seconds per step (taking turns), then peak memory and FLOPs of one more step."""
    seconds = interleaved_medians(steps, warmup, repeats)
    return [Result(s, peak_memory(step), count_flops(step))
            for s, step in zip(seconds, steps, strict=True)]


def sparse_pretraining_loss(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    """The pretraining loss (mean MLM + NSP cross-entropy) through bertlab's sparse path."""
    out = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                batch["labels"])
    return (F.cross_entropy(out.prediction_logits, batch["labels"][out.prediction_mask])
            + F.cross_entropy(out.seq_relationship_logits, batch["next_sentence_label"]))


def pretraining_step(model: torch.nn.Module,
                     loss: Callable[[], torch.Tensor]) -> Callable[[], None]:
    """forward + loss + backward + fused AdamW step, for one model and its loss function."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)

    def step() -> None:
        loss().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step
