import sys

import torch

from bertlab.model import BertForPreTraining
from bertlab.tokenization import BertTokenizer

out = sys.argv[1]
m = BertForPreTraining.from_pretrained(out).eval()
tok = BertTokenizer.from_pretrained(out)
texts = [
    "Olivia lived in Highwick. Olivia had a dog. Olivia was sad because [MASK] lost the key.",
    "Theo lived in Highwick. Theo had a dog. Theo was sad because [MASK] lost the key.",
    "Olivia went to the park. Olivia was happy because she found [MASK] key.",
    "Theo went to the park. Theo was happy because he found [MASK] key.",
    "The hens that Vera found [MASK] curious.",
    "The hen that Vera found [MASK] curious.",
    "Theo lived in Highwick. Theo had a dog. Theo went to the park. [MASK] ate an apple.",
]
for t in texts:
    ids = tok(t, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = m(ids).prediction_logits[0]
    pos = (ids[0] == tok.mask_token_id).nonzero()[0, 0]
    top = logits[pos].softmax(-1).topk(5)
    print(
        t,
        [
            (tok.convert_ids_to_tokens([i])[0], round(p, 3))
            for p, i in zip(top.values.tolist(), top.indices.tolist())
        ],
    )
