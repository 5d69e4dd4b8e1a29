"""Chapter 05 exercise checks: the 80/10/10 replacement, longest-first truncation, the MLM loss."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import torch
import torch.nn.functional as F

from bertlab.exercises import CheckResult, failed, passed, run_answer

MASK_ID = 4
ORDINARY_IDS = tuple(range(5, 105))  # what a random replacement may be (no special tokens)


def check_replacement(answer: Callable[[int, random.Random], int]) -> CheckResult:
    """Grade replace(token, rng) -> id: [MASK] 80%, a random ordinary id 10%, unchanged 10%."""
    exercise = "80/10/10 replacement"
    hint = ("draw u = rng.random(): below 0.8 return MASK_ID; otherwise a second draw decides "
            "between rng.choice(ORDINARY_IDS) and the token itself")
    rng = random.Random(0)
    draws = 20000
    token = 50
    outcomes: Counter[str] = Counter()
    for _ in range(draws):
        result = run_answer(exercise, hint, answer, token, rng)
        if isinstance(result, CheckResult):
            return result
        if not isinstance(result, int) or isinstance(result, bool):
            return failed(exercise, f"return a token id (an int), got {type(result).__name__}")
        if result == MASK_ID:
            outcomes["mask"] += 1
        elif result == token:
            outcomes["kept"] += 1
        elif result in ORDINARY_IDS:
            outcomes["random"] += 1
        else:
            return failed(exercise, f"you returned {result}, which is neither MASK_ID, the token "
                                    "nor an ordinary id: never replace with a special token")
    shares = {kind: outcomes[kind] / draws for kind in ("mask", "random", "kept")}
    # a random draw equals the token 1% of the time: "kept" gets 0.1 + 0.1 * 0.01
    expected = {"mask": 0.8, "random": 0.099, "kept": 0.101}
    off = {k: v for k, v in shares.items() if abs(v - expected[k]) > 0.015}
    seen = ", ".join(f"{kind} {share:.1%}" for kind, share in shares.items())
    if not off:
        return passed(exercise, f"over {draws} draws: {seen}, as BERT does.")
    if shares["random"] == 0:
        return failed(exercise, f"you never return a random token ({seen}): 10% of the chosen "
                                "tokens should become a random ordinary id")
    return failed(exercise, f"the shares are off ({seen}); aim for mask 80%, random 10%, "
                            "kept 10%")


def check_truncate_pair(
    answer: Callable[[list[int], list[int], int, random.Random], object],
) -> CheckResult:
    """Grade truncate(a, b, max_tokens, rng): cut the longer list from a random end, in place."""
    from bertlab.pretraining import truncate_pair

    exercise = "longest-first truncation"
    hint = ("while len(a) + len(b) > max_tokens: take the longer list (b when they are equal), "
            "then if rng.random() < 0.5 delete its first item, else pop its last")
    cases = [(30, 10, 25), (5, 40, 20), (12, 12, 10), (3, 4, 10), (50, 2, 8)]
    for seed, (n_a, n_b, limit) in enumerate(cases):
        a, b = list(range(n_a)), list(range(100, 100 + n_b))
        expected_a, expected_b = list(a), list(b)
        truncate_pair(expected_a, expected_b, limit, random.Random(seed))
        result = run_answer(exercise, hint, answer, a, b, limit, random.Random(seed))
        if isinstance(result, CheckResult):
            return result
        if (a, b) == (expected_a, expected_b):
            continue
        if len(a) + len(b) != min(limit, n_a + n_b):
            return failed(exercise, f"with {n_a} + {n_b} tokens and max_tokens={limit} the pair "
                                    f"should keep {min(limit, n_a + n_b)}, yours kept "
                                    f"{len(a) + len(b)} (cut the lists in place)")
        if (len(a), len(b)) != (len(expected_a), len(expected_b)):
            return failed(exercise, f"with {n_a} + {n_b} tokens you kept {len(a)} + {len(b)}, "
                                    f"expected {len(expected_a)} + {len(expected_b)}: always "
                                    "cut the longer list (b when they tie)")
        return failed(exercise, "the lengths are right but the wrong ends were cut: draw "
                                "rng.random() once per removed token; < 0.5 removes the front")
    return passed(exercise, "same cuts as bertlab's truncate_pair for every case.")


def check_mlm_loss(answer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> CheckResult:
    """Grade mlm_loss(logits (B, T, V), labels (B, T)) -> the mean CE over labelled positions."""
    exercise = "MLM loss at masked positions"
    hint = ("keep = labels != -100; take logits[keep] (N, V) and labels[keep] (N,), then "
            "the mean of -log_softmax(...) at the right ids")
    generator = torch.Generator().manual_seed(5)
    logits = torch.randn(3, 7, 11, generator=generator) * 3
    labels = torch.full((3, 7), -100)
    keep = torch.rand(3, 7, generator=generator) < 0.3
    keep[0, 1] = True
    labels[keep] = torch.randint(0, 11, (int(keep.sum()),), generator=generator)
    result = run_answer(exercise, hint, answer, logits.clone(), labels.clone())
    if isinstance(result, CheckResult):
        return result
    if not isinstance(result, torch.Tensor) or result.numel() != 1:
        return failed(exercise, "return the loss as a one-element tensor")
    expected = F.cross_entropy(logits.view(-1, 11), labels.view(-1), ignore_index=-100)
    if torch.allclose(result.float().reshape(()), expected, atol=1e-5):
        return passed(exercise, f"loss {float(expected):.4f}, equal to F.cross_entropy with "
                                "ignore_index=-100.")
    log_probs = logits.log_softmax(-1)
    summed = -log_probs[keep].gather(-1, labels[keep][:, None]).sum()
    if torch.allclose(result.float().reshape(()), summed, atol=1e-4):
        return failed(exercise, "that is the sum over masked positions: divide by their count")
    per_all = summed / labels.numel()
    if torch.allclose(result.float().reshape(()), per_all, atol=1e-5):
        return failed(exercise, "you divided by every position; average over the masked ones only")
    return failed(exercise, f"got {float(result):.4f}, expected {float(expected):.4f}: "
                            "use log_softmax over the vocabulary at the masked positions")
