"""Reference solutions for chapter 02's exercises (tests prove each check accepts them)."""

from __future__ import annotations

import math

import torch


def largest_weight(d_k: int, n_keys: int, scaled: bool) -> float:
    """Mean over 1000 random queries of the largest softmax weight in the query's row."""
    torch.manual_seed(0)
    q = torch.randn(1000, d_k)  # one query per row, unit-variance entries
    k = torch.randn(1000, n_keys, d_k)  # each query gets its own n_keys keys
    scores = (k @ q[:, :, None]).squeeze(-1)  # (1000, n_keys): q·k
    if scaled:
        scores = scores / math.sqrt(d_k)
    return torch.softmax(scores, dim=-1).max(dim=-1).values.mean().item()


def weight_on_padding(n_real: int, padded_length: int, use_mask: bool) -> float:
    """Share of a real token's attention that lands on the [PAD] keys, averaged over 1000 inputs."""
    torch.manual_seed(0)
    d_k = 64
    q = torch.randn(1000, n_real, d_k)  # queries of the real tokens
    k = torch.randn(1000, padded_length, d_k)  # keys: n_real real ones, then the [PAD] ones
    scores = q @ k.transpose(1, 2) / math.sqrt(d_k)  # (1000, n_real, padded_length)
    if use_mask:
        scores[:, :, n_real:] = float("-inf")
    weights = torch.softmax(scores, dim=-1)
    return weights[:, :, n_real:].sum(dim=-1).mean().item()


# Predictions written before measuring (never graded; these are reasoned, not measured):
# raw scores with d_k = 64 have a standard deviation of 8, so the best of 128 keys stands
# several units above the runner-up and takes most of the row;
UNSCALED_PEAK_PREDICTION = 0.8
# without a mask the 123 [PAD] keys are just more keys like the 5 real ones: 123/128 by symmetry.
FORGOTTEN_MASK_PREDICTION = 123 / 128


def causal_mask(seq_len: int) -> torch.Tensor:
    """True where query i may attend to key j, that is j <= i (no peeking ahead)."""
    return torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))


CONCEPT_ANSWERS = {"02": {1: "c", 2: "b", 3: "a", 4: "d", 5: "b"}}
