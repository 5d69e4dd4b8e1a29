"""Can bertlab's 4-layer BertForMaskedLM learn to copy, and how fast at a given learning rate?

    python notes/experiment_copy.py INIT LR STEPS MODE   # MODE: plain or slot

plain: a "name" token occurs twice in random filler, the second is masked: pure copying.
Environment: WARM (linear warmup steps), MULT="value=0.25,..." (per-parameter lr
multipliers), B2 (Adam beta2), EPS (Adam eps).

slot: a name is followed by a marker three times; the masked name is recognised only by the
marker after it, and 15% of the filler is masked too (unpredictable targets, as in real text).
"""

import sys
import time

import torch

torch.set_num_threads(1)
from bertlab.model import BertConfig, BertForMaskedLM

torch.manual_seed(0)
V, L = 300, 48
init = float(sys.argv[1])
lr = float(sys.argv[2])
cfg = BertConfig(
    vocab_size=V,
    hidden_size=128,
    num_hidden_layers=4,
    num_attention_heads=4,
    intermediate_size=512,
    max_position_embeddings=64,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    initializer_range=init,
)
m = BertForMaskedLM(cfg)
import os
from lr_mult import multiplier
groups = {}
for n, p in m.named_parameters():
    groups.setdefault(multiplier(n), []).append(p)
print({k: len(v) for k, v in groups.items()})
opt = torch.optim.AdamW([{"params": ps, "lr": lr * k} for k, ps in groups.items()], lr=lr, betas=(0.9, float(os.environ.get("B2", "0.999"))), eps=float(os.environ.get("EPS", "1e-6")))
MASK, WENT = 3, 5


MODE = sys.argv[4] if len(sys.argv) > 4 else "slot"


def plain_batch(n=64):
    ids = torch.randint(10, 200, (n, L))  # filler
    names = torch.randint(200, 300, (n,))
    p1 = torch.randint(1, L // 2, (n,))
    p2 = torch.randint(L // 2, L, (n,))
    r = torch.arange(n)
    ids[r, p1] = names
    ids[r, p2] = names
    labels = torch.full_like(ids, -100)
    labels[r, p2] = names
    ids[r, p2] = MASK
    return ids, labels, p2


def batch(n=64):
    if MODE == "plain":
        return plain_batch(n)
    ids = torch.randint(10, 200, (n, L))
    names = torch.randint(200, 300, (n,))
    r = torch.arange(n)
    labels = torch.full_like(ids, -100)
    # 15% of filler positions masked too (must predict random filler: unpredictable)
    fm = torch.rand(n, L) < 0.15
    labels[fm] = ids[fm]
    ids[fm] = MASK
    for k in range(3):  # name + WENT three times
        p = torch.randint(k * 16, k * 16 + 14, (n,))
        ids[r, p] = names
        ids[r, p + 1] = WENT
        labels[r, p] = -100
        labels[r, p + 1] = -100
    p = torch.randint(3 * 0, 14, (n,))  # mask the first occurrence's name
    labels[r, p] = -100
    p2 = torch.randint(32, 46, (n,))
    ids[r, p2] = MASK
    ids[r, p2 + 1] = WENT
    labels[r, p2] = names
    labels[r, p2 + 1] = -100
    return ids, labels, p2


BASE_LRS = [g["lr"] for g in opt.param_groups]
t = time.time()
for step in range(1, int(sys.argv[3]) + 1):
    ids, labels, _ = batch()
    out = m(ids, labels=labels)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    WARM = int(os.environ.get("WARM", "0"))
    if WARM:
        for g_, base in zip(opt.param_groups, BASE_LRS):
            g_["lr"] = base * min(1.0, (step + 1) / WARM)
    opt.step()
    opt.zero_grad()
    if step % 100 == 0:
        with torch.no_grad():
            ids, labels, p2 = batch(256)
            logits = m(ids).logits
            r = torch.arange(256)
            acc = (logits[r, p2].argmax(-1) == labels[r, p2]).float().mean().item()
        print(step, round(out.loss.item(), 3), round(acc, 3), round(time.time() - t), flush=True)
