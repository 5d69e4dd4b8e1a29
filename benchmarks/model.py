"""The whole BERT, bertlab against transformers: a pretraining step and inference, same weights.

Both run in one process, on the same inputs, with the same weights (copied with
`bertlab.hf.to_transformers`), fp32, taking turns step by step so load noise hits both.

- training step: `BertForPreTraining` in train mode (dropout on) on a pretraining batch
  (15% of tokens labelled for MLM, an NSP label per pair, a quarter of the rows padded),
  forward + backward + AdamW step (torch's fused CPU AdamW for both, transformers' Trainer
  default on torch >= 2.8). transformers runs at its default attention for a BertModel,
  "sdpa". bertlab trains as `bertlab.pretraining` does, through `bertlab.sparse_mlm`: the last
  layer and the MLM head compute only the labelled positions (and [CLS]).
- inference, attentions returned: `BertModel` in eval mode under no_grad with
  output_attentions=True; transformers at "eager" (its only path that returns weights).
- inference, plain: the same without attentions; transformers at "sdpa".

Reported: median tokens/s, the bertlab/transformers speed ratio (above 1 = bertlab faster),
peak memory, and the share of this machine's fp32 matmul peak each reaches. Peak memory is
what torch's CPU allocator holds at its highest during one step above what it held before
the step, read from the torch profiler's memory events (profile_memory=True): activations,
logits, gradients, temporaries; not the weights or AdamW state that exist before the step.
The matmul peak is the best GFLOP/s of a square fp32 torch.mm measured here first; a step's
FLOPs are counted by torch.utils.flop_counter.FlopCounterMode (matmuls, attention, forward
and backward) for what each implementation actually computes.

Run: .venv/bin/python benchmarks/model.py [--repeats 7] [--warmup 2] [--only tiny,mini,base]
     [--threads N]. On a shared machine, small workloads are at the mercy of other processes
     (the script prints the load average before and after); ratios are steadier than rates.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

import torch
from measure import Result, matmul_peak_flops, measure, pretraining_step, sparse_pretraining_loss

from bertlab import hf
from bertlab.model import BertConfig, BertForPreTraining, BertModel
from bertlab.sparse_mlm import SparseMlmPreTraining

VOCAB = 30522  # the bert-base-uncased WordPiece vocabulary
SHAPES = {  # (layers, hidden, heads): Google's BERT-Tiny and BERT-Mini, and BERT-base
    "tiny": (2, 128, 2),
    "mini": (4, 256, 4),
    "base": (12, 768, 12),
}


def pretraining_batch(batch: int, seq_len: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random ids shaped like a pretraining batch: [CLS] A [SEP] B [SEP], 15% MLM labels."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, VOCAB, (batch, seq_len), generator=generator)
    lengths = torch.full((batch,), seq_len)
    lengths[: batch // 4] = torch.randint(seq_len // 4, seq_len, (batch // 4,), generator=generator)
    mask = (torch.arange(seq_len)[None, :] < lengths[:, None]).long()  # (B, T)
    ids[mask == 0] = 0
    types = torch.zeros_like(ids)
    types[:, seq_len // 2 :] = 1
    types[mask == 0] = 0
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & (mask == 1)
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": types,
        "labels": labels,
        "next_sentence_label": torch.randint(0, 2, (batch,), generator=generator),
    }


def training_steps(config: BertConfig, batch: dict) -> list[Callable[[], object]]:
    """One forward+backward+AdamW step for bertlab and for transformers (sdpa), same weights."""
    torch.manual_seed(0)
    ours = BertForPreTraining(config).train()
    theirs = hf.to_transformers(ours, attn_implementation="sdpa").train()
    sparse = SparseMlmPreTraining(ours)
    with torch.no_grad():  # same numbers before timing them (dropout off for the check)
        ours.eval(), theirs.eval()
        expected = theirs(**batch).loss
        torch.testing.assert_close(ours(**batch).loss, expected, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(sparse_pretraining_loss(sparse, batch), expected,
                                   atol=1e-4, rtol=1e-4)
        ours.train(), theirs.train()
    return [pretraining_step(ours, lambda: sparse_pretraining_loss(sparse, batch)),
            pretraining_step(theirs, lambda: theirs(**batch).loss)]


def inference_steps(
    config: BertConfig, batch: dict, attentions: bool
) -> list[Callable[[], object]]:
    """One no-grad forward of BertModel for bertlab and transformers (eager or sdpa)."""
    torch.manual_seed(0)
    ours = BertModel(config).eval()
    theirs = hf.to_transformers(ours, "eager" if attentions else "sdpa").eval()
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        a = ours(**inputs, output_attentions=attentions)
        b = theirs(**inputs, output_attentions=attentions)
        torch.testing.assert_close(a.last_hidden_state, b.last_hidden_state, atol=1e-4, rtol=1e-4)

    def make(model: torch.nn.Module) -> Callable[[], object]:
        def step() -> object:
            with torch.no_grad():
                return model(**inputs, output_attentions=attentions)

        return step

    return [make(ours), make(theirs)]


def main() -> None:
    """Measure every configuration and workload and print one table with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--only", default=",".join(SHAPES))
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import transformers

    peaks = [matmul_peak_flops()]  # re-measured before every config: the best one is the peak
    print(f"load average before: {os.getloadavg()[0]:.2f} (the machine is shared)")
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, CPU threads "
        f"{torch.get_num_threads()}, fp32; batch {args.batch} x seq_len {args.seq_len}, "
        f"vocab {VOCAB}; median of {args.repeats} interleaved runs after {args.warmup} warm-up"
    )
    batch = pretraining_batch(args.batch, args.seq_len)
    tokens = args.batch * args.seq_len
    rows: list[tuple[str, str, Result, Result]] = []
    for name in args.only.split(","):
        layers, hidden, heads = SHAPES[name]
        config = BertConfig(
            vocab_size=VOCAB,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=4 * hidden,
        )
        peaks.append(matmul_peak_flops())
        workloads = {
            "train step (HF sdpa)": training_steps(config, batch),
            "infer+attn (HF eager)": inference_steps(config, batch, attentions=True),
            "infer (HF sdpa)": inference_steps(config, batch, attentions=False),
        }
        for workload, steps in workloads.items():
            ours, theirs = measure(steps, args.warmup, args.repeats)
            rows.append((name, workload, ours, theirs))
            print(f"  measured {name} {workload}: {theirs.seconds / ours.seconds:.2f}x", flush=True)
    peaks.append(matmul_peak_flops())
    peak = max(peaks)
    print(
        f"\nfp32 matmul peak (best 2048^3 torch.mm of {len(peaks)} measurements): "
        f"{peak / 1e9:.1f} GFLOP/s; load average after: {os.getloadavg()[0]:.2f}\n"
    )
    header = (
        f"{'config':<6} {'workload':<22} {'bertlab tok/s':>13} {'HF tok/s':>9} {'speedup':>7} "
        f"{'bertlab MB':>10} {'HF MB':>7} {'bertlab %peak':>13} {'HF %peak':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, workload, ours, theirs in rows:
        print(
            f"{name:<6} {workload:<22} {tokens / ours.seconds:13.0f} "
            f"{tokens / theirs.seconds:9.0f} {theirs.seconds / ours.seconds:6.2f}x "
            f"{ours.peak_bytes / 2**20:10.0f} {theirs.peak_bytes / 2**20:7.0f} "
            f"{100 * ours.flops / ours.seconds / peak:12.1f}% "
            f"{100 * theirs.flops / theirs.seconds / peak:7.1f}%"
        )
    print(
        "\nspeedup = transformers' median step time / bertlab's (above 1 = bertlab faster); "
        "MB = torch CPU allocator peak during one step above its level before (profiler); "
        "%peak = FLOPs counted by FlopCounterMode per second / the matmul peak"
    )


if __name__ == "__main__":
    main()
