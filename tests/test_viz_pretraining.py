"""Chapter 05's views: the masking view, the fill-mask explorer and the live loss plot redraw what
they are given."""

from __future__ import annotations

import pytest

from bertlab.pretraining import EvalResult, PretrainingDataset, StepLog
from bertlab.probes import predict_masked
from bertlab.viz.pretraining import FillMaskExplorer, LiveLossPlot, MaskingView


def test_fill_mask_explorer_redraws_for_a_new_sentence(tokenizer, tiny_model):
    model = tiny_model(tokenizer.vocab_size)
    explorer = FillMaskExplorer(model, tokenizer, "the dog [MASK] the ball.", k=4)
    assert len(explorer.axes[0].patches) == 4
    first = list(explorer.guesses)
    assert first == predict_masked(model, tokenizer, "the dog [MASK] the ball.", 4)[0]
    explorer.text.value = "[MASK] cat sat on the [MASK] mat."
    assert [o[1] for o in explorer.which.options] == [0, 1]
    explorer.which.value = 1
    assert explorer.guesses == predict_masked(model, tokenizer,
                                              "[MASK] cat sat on the [MASK] mat.", 4)[1]
    explorer.k.value = 6
    assert len(explorer.axes[0].patches) == 6
    probabilities = [p.get_width() for p in explorer.axes[0].patches]
    assert probabilities == sorted(probabilities)  # drawn bottom-up, best on top
    explorer.text.value = "no mask here"
    assert explorer.guesses == [] and len(explorer.axes[0].patches) == 0


def test_fill_mask_explorer_puts_a_second_model_beside_the_first(tokenizer, tiny_model):
    first, second = tiny_model(tokenizer.vocab_size), tiny_model(tokenizer.vocab_size, seed=1)
    explorer = FillMaskExplorer(first, tokenizer, "the dog [MASK] the ball.", k=3,
                                name="one", compare=("two", second, tokenizer))
    assert [len(ax.patches) for ax in explorer.axes] == [3, 3]
    widths = [p.get_width() for p in explorer.axes[1].patches][::-1]
    expected = predict_masked(second, tokenizer, "the dog [MASK] the ball.", 3)[0]
    assert widths == pytest.approx([p for _, p in expected])
    assert explorer.axes[1].get_title().startswith("two:")


def test_live_loss_plot_draws_what_it_is_given():
    plot = LiveLossPlot(every_seconds=0.0, baseline=0.3)
    for step in range(1, 4):
        plot(None, StepLog(step, 5.0 - step, 4.0 - step, 1.0, 1e-3, 1.0))
    plot(None, EvalResult(3, 2.0, 0.4, 0.6, 0.7, 100, 10))
    assert list(plot.mlm_line.get_xdata()) == [1, 2, 3]
    assert list(plot.mlm_line.get_ydata()) == [3.0, 2.0, 1.0]
    assert list(plot.mlm_acc_line.get_ydata()) == [0.4]
    assert list(plot.nsp_acc_line.get_ydata()) == [0.7]
    assert plot.nsp_line.get_label() == "NSP loss (train)"
    assert plot.png().startswith(b"\x89PNG")


def test_live_loss_plot_draws_sentence_order_prediction_under_its_own_name():
    plot = LiveLossPlot(every_seconds=0.0)
    for step in range(1, 3):
        plot(None, StepLog(step, 5.0, 4.0, None, 1e-3, 1.0, sop_loss=0.6 - 0.1 * step))
    plot(None, EvalResult(2, 2.0, 0.4, None, None, 100, 10, sop_loss=0.3, sop_accuracy=0.8))
    assert list(plot.nsp_line.get_ydata()) == pytest.approx([0.5, 0.4])
    assert list(plot.nsp_acc_line.get_ydata()) == [0.8]
    assert plot.nsp_line.get_label() == "SOP loss (train)"
    assert plot.nsp_acc_line.get_label() == "SOP accuracy"
    legend = [t.get_text() for t in plot.score_ax.get_legend().get_texts()]
    assert "SOP accuracy" in legend and "NSP accuracy" not in legend


def test_masking_view_shows_the_datasets_masks_and_counts_what_changed(world, tokenizer):
    dataset = PretrainingDataset.from_documents(world.as_documents(), tokenizer, 64, seed=3)
    view = MaskingView(dataset, rows=6)
    for epoch in (0, 2):
        view.epoch.value = epoch
        assert [view.masked(i)[1] for i in range(6)] == \
            [dataset.example(i, epoch)["input_ids"] for i in range(6)]
    originals = [dataset.pairs[i].encode(dataset.cls_id, dataset.sep_id)[0] for i in range(6)]
    shown = [dataset.example(i, 2)["input_ids"] for i in range(6)]
    total = sum(len(ids) for ids in originals)
    changed = sum(a != b for ids, seen in zip(originals, shown, strict=True)
                  for a, b in zip(ids, seen, strict=True))
    assert view.shares["changed"] == pytest.approx(changed / total)
    mask_cells = int((view.codes == 1).sum())
    assert mask_cells == sum(t == dataset.scheme.mask_id for seen in shown for t in seen)
    assert (view.codes[:, 0] == 4).all()  # [CLS] is never masked
    low = view.shares["predicted"]
    view.mask_prob.value = 0.4
    assert view.shares["predicted"] > 1.8 * low  # more masking, more predicted
    assert f"mask probability 0.40, epoch 2: {view.shares['predicted']:.1%}" in view.ax.get_title()
    assert min(t.get_fontsize() for t in view.ax.get_xticklabels()) >= 8
    assert view.png().startswith(b"\x89PNG")
