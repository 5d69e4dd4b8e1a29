import torch, sys
from bertlab.model import BertForPreTraining
from bertlab.tokenization import BertTokenizer
from bertlab.corpus import generate_corpus

m = BertForPreTraining.from_pretrained(sys.argv[1]).eval()
tok = BertTokenizer.from_pretrained(sys.argv[1])
docs = generate_corpus(300, seed=5).as_documents()
texts = [" ".join(d)[:300] for d in docs[:64]]
enc = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
with torch.no_grad():
    out = m.bert(enc["input_ids"], enc["attention_mask"], output_attentions=True)
L = enc["input_ids"].shape[1]
dist = (torch.arange(L)[:, None] - torch.arange(L)[None, :]).abs()
mask = enc["attention_mask"].bool()
ids = enc["input_ids"]
for layer, att in enumerate(out.attentions):
    row = []
    for h in range(att.shape[1]):
        a = att[:, h][mask]  # (tokens, L)
        d = dist.expand(len(mask), L, L)[mask]
        local = (a * (d <= 2)).sum(-1).mean().item()
        same = ids[:, None, :] == ids[:, :, None]  # same token id elsewhere
        same = (same & (dist > 2))[mask]
        row.append(f"h{h}: local {local:.2f} same-token-far {(a * same).sum(-1).mean().item():.3f}")
    print(f"layer {layer}:", " | ".join(row))
