"""Reference solutions for chapter 05's exercises (tests prove each check accepts them)."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from bertlab.exercises.pretraining import MASK_ID, ORDINARY_IDS


def replace(token: int, rng: random.Random) -> int:
    """BERT's 80/10/10: [MASK] most of the time, else a random ordinary token or the token."""
    if rng.random() < 0.8:
        return MASK_ID
    if rng.random() < 0.5:
        return rng.choice(ORDINARY_IDS)
    return token


def truncate(a: list[int], b: list[int], max_tokens: int, rng: random.Random) -> None:
    """Cut the longer list (b on ties) from a random end until the pair fits, in place."""
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the labelled positions only (labels != -100)."""
    keep = labels != -100  # (B, T)
    log_probs = F.log_softmax(logits[keep], dim=-1)  # (N, V)
    return -log_probs.gather(-1, labels[keep][:, None]).mean()
