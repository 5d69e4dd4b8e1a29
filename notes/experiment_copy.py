import sys
import time

import torch

torch.set_num_threads(1)
from bertlab.model import BertConfig, BertForMaskedLM

torch.manual_seed(0)
V, L = 300, 40
init = float(sys.argv[1]) if len(sys.argv) > 1 else 0.02
lr = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-3
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
opt = torch.optim.AdamW(m.parameters(), lr=lr)
MASK = 3


def batch(n=64):
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
    return ids, labels


t = time.time()
for step in range(1, 1501):
    ids, labels = batch()
    out = m(ids, labels=labels)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
    opt.zero_grad()
    if step % 100 == 0:
        with torch.no_grad():
            ids, labels = batch(256)
            logits = m(ids).logits
            sel = labels != -100
            acc = (logits[sel].argmax(-1) == labels[sel]).float().mean().item()
        print(step, round(out.loss.item(), 3), round(acc, 3), round(time.time() - t), flush=True)
