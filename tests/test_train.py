"""bertlab.train: one loop for any model; its schedule, weight-decay groups and exact resume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bertlab.model import BertConfig, BertForSequenceClassification
from bertlab.train import StepLoss, Trainer, TrainingConfig, adamw_param_groups, linear_warmup_decay


def test_learning_rate_warms_up_then_decays_to_zero():
    values = [linear_warmup_decay(step, 10, 100) for step in range(101)]
    assert values[0] == pytest.approx(1 / 11)
    assert max(values) == values[10] == 1.0
    assert all(a < b for a, b in zip(values[:10], values[1:11], strict=True))
    assert all(a > b for a, b in zip(values[10:100], values[11:101], strict=True))
    assert values[100] == 0.0 and values[55] == pytest.approx(0.5)


def test_weight_decay_only_on_matrices_in_parameter_order():
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    decay, no_decay = adamw_param_groups(model, 0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert [p.shape for p in decay["params"]] == [(4, 3), (2, 4)]
    assert [p.shape for p in no_decay["params"]] == [(4,), (4,), (4,), (2,)]
    model[0].weight.requires_grad_(False)
    assert [p.shape for p in adamw_param_groups(model, 0.01)[0]["params"]] == [(2, 4)]


class Regression(Trainer):
    """A least-squares line fit: the loop trains it like any model (sums, divided by counts)."""

    def __init__(self, config: TrainingConfig, **kwargs) -> None:
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(64, 3, generator=generator)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
        torch.manual_seed(0)
        super().__init__(nn.Linear(3, 1), config, **kwargs)

    def examples(self, step):
        start = step * self.config.batch_size % len(self.x)
        return list(range(start, start + self.config.batch_size))

    def collate(self, rows):
        return {"x": self.x[rows], "y": self.y[rows]}

    def loss(self, batch):
        return {"squared_error": ((self.module(batch["x"])[:, 0] - batch["y"]) ** 2).sum()}

    def divisors(self, rows):
        return {"squared_error": len(rows)}


def test_the_loop_trains_any_model_and_accumulation_changes_nothing():
    config = TrainingConfig(steps=40, batch_size=16, learning_rate=0.1, eval_every=10,
                            warmup_fraction=0.1)
    whole = Regression(config, progress=False)
    split = Regression(TrainingConfig(**{**config.__dict__, "accumulation_steps": 4}),
                       progress=False)
    losses = whole.train().losses()
    assert all(isinstance(s, StepLoss) for s in whole.history.steps)
    assert losses[-1] < losses[0] / 20
    torch.testing.assert_close(split.train().losses(), losses, rtol=1e-5, atol=1e-7)
    for a, b in zip(whole.model.parameters(), split.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_an_evaluation_hook_is_logged_and_can_stop_the_run_early():
    seen = []

    def evaluate(trainer):
        if trainer.step == 20:
            trainer.stop_requested = True
        return {"step": trainer.step, "loss": trainer.history.losses()[-1]}

    trainer = Regression(TrainingConfig(steps=40, batch_size=16, eval_every=10), progress=False,
                         evaluate=evaluate, callbacks=[lambda t, record: seen.append(record)])
    trainer.train()
    assert trainer.step == 20 and not trainer.interrupted
    assert [e["step"] for e in trainer.history.evals] == [10, 20]
    assert [r["step"] if isinstance(r, dict) else r.step for r in seen] == \
        [*range(1, 11), 10, *range(11, 21), 20]


class Classification(Trainer):
    """A BERT classifier on random tokens, with dropout: a checkpoint must carry its RNG too."""

    def __init__(self, config: TrainingConfig, **kwargs) -> None:
        torch.manual_seed(0)
        model = BertForSequenceClassification(BertConfig(
            vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=32, max_position_embeddings=16, hidden_dropout_prob=0.2))
        generator = torch.Generator().manual_seed(1)
        self.ids = torch.randint(5, 50, (32, 12), generator=generator)
        self.labels = (self.ids[:, 0] > 27).long()
        super().__init__(model, config, **kwargs)

    def examples(self, step):
        start = step * self.config.batch_size % len(self.ids)
        return list(range(start, start + self.config.batch_size))

    def collate(self, rows):
        return {"input_ids": self.ids[rows], "labels": self.labels[rows]}

    def loss(self, batch):
        return {"loss": self.module(**batch).loss}

    def divisors(self, rows):
        return {"loss": 1}  # a batch mean, one micro-batch per step


def test_any_trainer_resumes_from_its_checkpoint_to_the_same_numbers(tmp_path):
    config = TrainingConfig(steps=8, batch_size=8, learning_rate=1e-2, eval_every=0)
    straight = Classification(config, progress=False)
    straight.train()
    first = Classification(config, progress=False, output_dir=tmp_path)
    first.train(until=3)
    resumed = Classification(config, progress=False, output_dir=tmp_path)
    torch.manual_seed(123)  # what a fresh process draws must not matter
    resumed.load_checkpoint()
    assert resumed.step == 3 and resumed.history.steps == straight.history.steps[:3]
    resumed.train()
    assert resumed.history.losses() == straight.history.losses()
    for a, b in zip(resumed.model.parameters(), straight.model.parameters(), strict=True):
        assert torch.equal(a, b)
