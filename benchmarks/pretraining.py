"""A pretraining step at chapter 05's default preset: bertlab against transformers, same batch.

Both `BertForPreTraining`s hold the same weights (copied with `bertlab.hf.to_transformers`),
run in one process, fp32, taking turns step by step so load noise hits both, on the same real
batch: TinyWorld pairs made by `bertlab.pretraining` (WordPiece vocabulary trained on the
corpus, 15% of tokens masked, NSP labels, padded to the longest pair). A step is forward +
MLM and NSP loss + backward + AdamW (torch's fused CPU AdamW for both).

The difference that matters: bertlab trains through `bertlab.sparse_mlm`, as
`bertlab.pretraining` does: the MLM head computes vocabulary logits only at the masked
positions (about 15% of the tokens), and the last layer only those positions and [CLS];
transformers computes logits at every position and lets cross-entropy ignore the rest. The
plain `BertForPreTraining` (dense logits, like transformers) is timed too. The timing
helpers (median of interleaved runs, profiler peak memory, FLOP counter, matmul peak) and
the step functions are in benchmarks/measure.py, shared by every benchmark.

Run: .venv/bin/python benchmarks/pretraining.py [--repeats 9] [--warmup 2] [--preset default]
"""

from __future__ import annotations

import argparse
import os

import measure
import torch

from bertlab import hf
from bertlab.pretrain import build_model, get_preset, prepare_data
from bertlab.pretraining import collate
from bertlab.sparse_mlm import SparseMlmPreTraining


def main() -> None:
    """Measure both training steps on one batch and print a table with the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--preset", default="default")
    args = parser.parse_args()

    import transformers

    preset = get_preset(args.preset)
    data = prepare_data(preset)
    batch = collate([data.train.example(i) for i in range(preset.batch_size)],
                    data.tokenizer.pad_token_id)
    tokens = int(batch["attention_mask"].sum())
    masked = int((batch["labels"] != -100).sum())

    ours = build_model(preset, data.tokenizer.vocab_size).train()
    theirs = hf.to_transformers(ours, attn_implementation="sdpa").train()
    plain = build_model(preset, data.tokenizer.vocab_size).train()
    plain.load_state_dict(ours.state_dict())
    sparse = SparseMlmPreTraining(ours)
    with torch.no_grad():  # same numbers before timing them
        ours.eval(), theirs.eval()
        expected = theirs(**batch).loss
        torch.testing.assert_close(ours(**batch).loss, expected, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(measure.sparse_pretraining_loss(sparse, batch), expected,
                                   rtol=1e-4, atol=1e-4)
        ours.train(), theirs.train()
    steps = [measure.pretraining_step(ours, lambda: measure.sparse_pretraining_loss(sparse, batch)),
             measure.pretraining_step(theirs, lambda: theirs(**batch).loss),
             measure.pretraining_step(plain, lambda: plain(**batch).loss)]

    peak = measure.matmul_peak_flops()
    load_before = os.getloadavg()[0]
    mine, hf_result, plain_result = measure.measure(steps, args.warmup, args.repeats)
    config = ours.config
    print(f"load average before: {load_before:.2f} (the machine is shared: timings are "
          "pessimistic when others run)")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, CPU threads "
          f"{torch.get_num_threads()}, fp32; matmul peak (2048^3 torch.mm) "
          f"{peak / 1e9:.1f} GFLOP/s")
    print(f"preset {preset.name!r}: {config.num_hidden_layers} layers, hidden "
          f"{config.hidden_size}, {config.num_attention_heads} heads, vocab {config.vocab_size}; "
          f"batch {batch['input_ids'].shape[0]} x {batch['input_ids'].shape[1]} "
          f"({tokens} real tokens, {masked} masked); median of {args.repeats} interleaved steps "
          f"after {args.warmup} warm-up\n")
    header = (f"{'implementation':<34} {'tokens/s':>9} {'ms/step':>8} {'peak MB':>8} "
              f"{'GFLOP/step':>10} {'% matmul peak':>13}")
    print(header)
    print("-" * len(header))
    rows = (("bertlab (sparse MLM path)", mine),
            ("transformers (sdpa, dense MLM logits)", hf_result),
            ("bertlab plain model (dense logits)", plain_result))
    for name, result in rows:
        print(f"{name:<34} {tokens / result.seconds:9.0f} {1e3 * result.seconds:8.1f} "
              f"{result.peak_bytes / 2**20:8.1f} {result.flops / 1e9:10.2f} "
              f"{100 * result.flops / result.seconds / peak:12.1f}%")
    print(f"\nplain bertlab model: {hf_result.seconds / plain_result.seconds:.2f}x transformers")
    print(f"speedup (transformers time / bertlab time): {hf_result.seconds / mine.seconds:.2f}x; "
          f"peak memory ratio (transformers / bertlab): "
          f"{hf_result.peak_bytes / max(1, mine.peak_bytes):.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
