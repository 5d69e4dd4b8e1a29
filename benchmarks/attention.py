"""Forward+backward speed of bertlab's MultiHeadSelfAttention against torch's and transformers'.

All three run in one process on the same inputs and the same weights:
- bertlab   : `MultiHeadSelfAttention` on its fused path (output_attentions=False)
- torch MHA : `torch.nn.MultiheadAttention(batch_first=True)`, need_weights=False
- HF BERT   : `transformers...modeling_bert.BertAttention` built from a `BertConfig`, twice:
              at the standalone module's default (config._attn_implementation is None, which
              transformers resolves to "eager": explicit matmul-softmax-matmul), and at "sdpa",
              the default a `BertModel` picks. BertAttention also applies dropout, the residual
              and LayerNorm (bertlab leaves those to the encoder layer): slightly more work.

Run: .venv/bin/python benchmarks/attention.py [--repeats 20] [--warmup 5] [--device cpu|cuda]
Ratios are bertlab's median time divided by the peer's (below 1 = bertlab is faster).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial

import torch
from measure import interleaved_medians
from transformers import BertConfig
from transformers.models.bert.modeling_bert import BertAttention

from bertlab.attention import MultiHeadSelfAttention

SHAPES = [  # (batch, seq_len, hidden, heads)
    (8, 128, 256, 4),
    (8, 128, 768, 12),
]


def build(hidden: int, heads: int, device: str) -> tuple[torch.nn.Module, ...]:
    """bertlab, torch MHA, HF eager and HF sdpa, all with bertlab's weights."""
    torch.manual_seed(0)
    ours = MultiHeadSelfAttention(hidden, heads).to(device).train()
    mha = torch.nn.MultiheadAttention(hidden, heads, batch_first=True).to(device).train()
    config = BertConfig(
        hidden_size=hidden,
        num_attention_heads=heads,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    hf_eager = BertAttention(config).to(device).train()  # standalone default: None -> eager
    sdpa_config = BertConfig(**config.to_dict())
    sdpa_config._attn_implementation = "sdpa"
    hf_sdpa = BertAttention(sdpa_config).to(device).train()
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([ours.query.weight, ours.key.weight, ours.value.weight]))
        mha.in_proj_bias.copy_(torch.cat([ours.query.bias, ours.key.bias, ours.value.bias]))
        mha.out_proj.load_state_dict(ours.output.state_dict())
        for hf in (hf_eager, hf_sdpa):
            for name in ("query", "key", "value"):
                getattr(hf.self, name).load_state_dict(getattr(ours, name).state_dict())
            hf.output.dense.load_state_dict(ours.output.state_dict())
    return ours, mha, hf_eager, hf_sdpa


def backward(loss: Callable[[], torch.Tensor]) -> None:
    """One forward + backward: the step being timed."""
    loss().backward()


def loss(module: torch.nn.Module, *args: object, **kwargs: object) -> torch.Tensor:
    """A scalar from the module's first output, to run backward through."""
    return module(*args, **kwargs)[0].sum()


def main() -> None:
    """Time every shape with and without a padding mask and print a table of ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = args.device
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}")
    print(f"forward+backward, median of {args.repeats} interleaved runs "
          f"after {args.warmup} warm-up, fp32")
    print("HF eager = BertAttention at its standalone default (None -> eager); "
          "HF sdpa = BertModel's default\n")
    header = (f"{'B,T,H,nh':>14} {'mask':>4} {'bertlab':>8} {'torchMHA':>8} {'HF eager':>8} "
              f"{'HF sdpa':>8} {'/MHA':>5} {'/eager':>6} {'/sdpa':>5}   (ms)")
    print(header)
    print("-" * len(header))
    for batch, seq_len, hidden, heads in SHAPES:
        ours, mha, hf_eager, hf_sdpa = build(hidden, heads, device)
        torch.manual_seed(1)
        x = torch.randn(batch, seq_len, hidden, device=device, requires_grad=True)
        lengths = torch.randint(seq_len // 2, seq_len + 1, (batch,), device=device)
        real = torch.arange(seq_len, device=device)[None, :] < lengths[:, None]  # (B, T)
        for masked in (False, True):
            mask = real if masked else None
            pad = None if mask is None else ~mask  # torch MHA: True = ignore
            # HF eager adds a float mask; HF sdpa passes a bool (B, 1, T, T) mask to the kernel
            additive = None if mask is None else (~mask[:, None, None, :]).float() * -1e30
            boolean = None if mask is None else mask[:, None, None, :].expand(-1, 1, seq_len, -1)
            with torch.no_grad():  # same numbers before timing them
                a = ours(x, mask)[0]
                b = mha(x, x, x, key_padding_mask=pad, need_weights=False)[0]
                torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
                c = hf_sdpa.output.LayerNorm(a + x)
                torch.testing.assert_close(hf_eager(x, additive)[0], c, atol=1e-4, rtol=1e-4)
                torch.testing.assert_close(hf_sdpa(x, boolean)[0], c, atol=1e-4, rtol=1e-4)
            steps = [
                partial(loss, ours, x, mask),
                partial(loss, mha, x, x, x, key_padding_mask=pad, need_weights=False),
                partial(loss, hf_eager, x, additive),
                partial(loss, hf_sdpa, x, boolean),
            ]
            t = interleaved_medians([partial(backward, step) for step in steps], args.warmup,
                                    args.repeats, sync)
            shape = f"{batch},{seq_len},{hidden},{heads}"
            print(f"{shape:>14} {'yes' if masked else 'no':>4} "
                  + " ".join(f"{v * 1e3:8.2f}" for v in t)
                  + f" {t[0] / t[1]:5.2f} {t[0] / t[2]:6.2f} {t[0] / t[3]:5.2f}")
    print("\nratios = bertlab time / peer time (below 1 = bertlab faster)")

if __name__ == "__main__":
    main()
