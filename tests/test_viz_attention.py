"""bertlab.viz: inputs are reshaped right, and setting a widget changes what the figure shows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bertlab.viz.attention import (
    ALL,
    BERTVIZ_OFFLINE_NOTE,
    HeadView,
    LayerHeadsView,
    ModelView,
    SoftmaxTemperatureView,
    attention_entropy,
    attention_heatmap,
    before_after_heatmaps,
    bertviz_head_view,
    bertviz_model_view,
    stack_attentions,
    to_bertviz,
)

TOKENS = ["[CLS]", "the", "dog", "eats", "the", "soup", "[SEP]"]
T = len(TOKENS)


def random_attentions(layers: int = 3, heads: int = 4, batch: int = 2, seed: int = 0) -> tuple:
    """Per-layer (B, nh, T, T) softmax weights, as a model returns them."""
    generator = torch.Generator().manual_seed(seed)
    return tuple(
        torch.softmax(torch.randn(batch, heads, T, T, generator=generator) * 2, dim=-1)
        for _ in range(layers)
    )


def line_alphas(view: HeadView) -> dict[tuple[int, int], float]:
    """(query, key) -> drawn line opacity, read back from the figure's line collections."""
    drawn: dict[tuple[int, int], float] = {}
    for collection in view.ax.collections:
        for segment, colour in zip(collection.get_segments(), collection.get_colors(), strict=True):
            query, key = int(round(-segment[0][1])), int(round(-segment[1][1]))
            drawn[(query, key)] = drawn.get((query, key), 0.0) + float(colour[3])
    return drawn


# --- input shapes -------------------------------------------------------------------------


def test_stack_accepts_per_layer_tuple_and_single_tensor() -> None:
    attentions = random_attentions()
    stacked = stack_attentions(attentions, batch_index=1)
    assert stacked.shape == (3, 4, T, T)
    np.testing.assert_array_equal(stacked[2], attentions[2][1].numpy())
    single = torch.stack([a[1] for a in attentions])  # (L, nh, T, T)
    np.testing.assert_array_equal(stack_attentions(single), stacked)
    per_layer_3d = [a[0] for a in attentions]  # list of (nh, T, T)
    np.testing.assert_array_equal(stack_attentions(per_layer_3d), stack_attentions(attentions))
    five_d = torch.stack(attentions)  # (L, B, nh, T, T)
    np.testing.assert_array_equal(stack_attentions(five_d, batch_index=1), stacked)


def test_stack_rejects_bad_inputs_with_clear_messages() -> None:
    with pytest.raises(ValueError, match="empty"):
        stack_attentions(())
    with pytest.raises(ValueError, match=r"attentions\[0\] has shape"):
        stack_attentions([torch.rand(T, T)])
    with pytest.raises(ValueError, match="same|one \\(heads"):
        stack_attentions([torch.rand(1, 4, T, T), torch.rand(1, 2, T, T)])
    with pytest.raises(IndexError, match="batch_index 5"):
        stack_attentions(random_attentions(), batch_index=5)
    with pytest.raises(ValueError, match="square"):
        stack_attentions(torch.rand(2, 4, T, T + 1))
    with pytest.raises(ValueError, match="NaN"):
        stack_attentions(torch.full((1, 1, T, T), float("nan")))
    with pytest.raises(TypeError, match="tensor or a NumPy array"):
        stack_attentions([[[[0.5]]]])


def test_tokens_must_match_positions() -> None:
    with pytest.raises(ValueError, match="6 tokens but the attention covers 7 positions"):
        HeadView(random_attentions(), TOKENS[:-1])
    with pytest.raises(TypeError, match="list of strings"):
        ModelView(random_attentions(), "the dog eats")


def test_to_bertviz_gives_one_batch_of_one_tensor_per_layer() -> None:
    attentions = random_attentions(layers=2, heads=3)
    layers, tokens = to_bertviz(attentions, TOKENS, batch_index=1)
    assert tokens == TOKENS
    assert len(layers) == 2
    for layer, original in zip(layers, attentions, strict=True):
        assert layer.shape == (1, 3, T, T)
        torch.testing.assert_close(layer[0], original[1])


def test_bertviz_views_embed_the_data_and_the_offline_note() -> None:
    attentions = random_attentions(layers=2, heads=2, batch=1)
    for view in (bertviz_head_view, bertviz_model_view):
        html = view(attentions, TOKENS).data
        assert BERTVIZ_OFFLINE_NOTE in html
        assert '"[CLS]"' in html  # tokens passed through to the page's parameters
        assert f"{float(attentions[1][0, 1, 2, 3]):.6f}"[:6] in html


# --- heatmap --------------------------------------------------------------------------------


def test_heatmap_shows_the_weights_with_token_labels() -> None:
    import matplotlib.pyplot as plt

    weights = torch.softmax(torch.randn(T, T), dim=-1)
    ax = attention_heatmap(weights, TOKENS)
    np.testing.assert_allclose(ax.images[0].get_array(), weights.numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == TOKENS
    assert len(ax.texts) == T * T  # every weight written in its cell for a short sentence
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="one head's"):
        attention_heatmap(torch.rand(2, T, T), TOKENS)


def test_entropy_is_log2_t_for_uniform_rows_and_zero_for_one_hot() -> None:
    uniform = torch.full((1, 2, T, T), 1.0 / T)
    one_hot = torch.eye(T).expand(1, 2, T, T)
    np.testing.assert_allclose(attention_entropy((uniform, one_hot)),
                               [[np.log2(T)] * 2, [0.0, 0.0]], atol=1e-6)


def test_before_after_heatmaps_draw_every_head_twice_and_frame_the_most_focused() -> None:
    before = tuple(torch.full((1, 2, T, T), 1.0 / T) for _ in range(2))
    after = [layer.clone() for layer in before]
    after[1][0, 0] = torch.eye(T)  # layer 1, head 0 learns to look at itself
    figure = before_after_heatmaps(before, after, TOKENS, labels=("start", "end"))
    panels = [ax for ax in figure.axes if ax.images]
    assert len(panels) == 2 * 2 * 2  # two sides of 2 layers x 2 heads
    end = [ax for ax in panels if ax.get_title().startswith("L1 H0") and
           np.allclose(ax.images[0].get_array(), np.eye(T))]
    assert len(end) == 1 and end[0].get_title() == "L1 H0: 0.00 bits"
    framed = [ax for ax in panels if ax.spines["left"].get_edgecolor()[:3] != (0.0, 0.0, 0.0)]
    assert {ax.get_title()[:5] for ax in framed} == {"L1 H0"} and len(framed) == 2
    sizes = [label.get_fontsize() for ax in panels for label in
             [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.title]]
    assert min(sizes) >= 8  # readable labels
    assert [t.get_text() for t in panels[-1].get_xticklabels()] == TOKENS  # bottom row names keys
    assert any("end (rows: query" in sub._suptitle.get_text() for sub in figure.subfigs)
    with pytest.raises(ValueError, match="one shape"):
        before_after_heatmaps(before, before[:1], TOKENS)


# --- head view ------------------------------------------------------------------------------


def test_head_view_draws_one_line_per_weight_with_its_opacity() -> None:
    attentions = random_attentions()
    view = HeadView(attentions, TOKENS, batch_index=1, min_weight=0.0)
    view.layer.value = 2
    view.head.value = 1
    expected = attentions[2][1, 1].numpy()
    drawn = line_alphas(view)
    assert len(drawn) == T * T
    for (query, key), alpha in drawn.items():
        assert alpha == pytest.approx(expected[query, key], abs=1e-6)


def test_head_view_layer_and_head_selectors_change_the_figure() -> None:
    view = HeadView(random_attentions(), TOKENS)
    all_heads = line_alphas(view)
    assert len(view.ax.collections) == 4  # one colour per head
    view.head.value = 0
    head0 = line_alphas(view)
    assert len(view.ax.collections) == 1
    view.layer.value = 1
    assert line_alphas(view) != head0
    assert head0 != all_heads
    assert view.ax.get_title() == "layer 1, head 0"


def test_clicking_a_token_isolates_its_lines() -> None:
    attentions = random_attentions()
    view = HeadView(attentions, TOKENS, min_weight=0.0)
    view.head.value = 3
    view.token.value = 2
    drawn = line_alphas(view)
    assert {query for query, _ in drawn} == {2}
    assert len(drawn) == T
    view.direction.value = "to"
    drawn = line_alphas(view)
    assert {key for _, key in drawn} == {2}
    for (query, key), alpha in drawn.items():
        assert alpha == pytest.approx(float(attentions[0][0, 3, query, key]), abs=1e-6)
    bold = [t.get_text() for t in view.ax.texts if t.get_fontweight() == "bold"]
    assert bold == ["dog"]
    view.token.value = ALL
    assert len(line_alphas(view)) == T * T


def test_head_view_hides_lines_below_min_weight() -> None:
    weights = torch.zeros(1, 1, T, T)
    weights[0, 0, torch.arange(T), torch.arange(T)] = 1.0  # each token attends to itself only
    view = HeadView([weights], TOKENS)
    assert line_alphas(view) == {(i, i): 1.0 for i in range(T)}


# --- model view -----------------------------------------------------------------------------


def test_model_view_grid_shows_every_head_of_the_chosen_layers() -> None:
    attentions = random_attentions(layers=3, heads=4)
    view = ModelView(attentions, TOKENS, max_layers=2)
    assert len(view.fig.axes) == 2 * 4
    np.testing.assert_allclose(view.fig.axes[4 + 2].images[0].get_array(), attentions[1][0, 2])
    view.layers.value = (2, 2)
    assert len(view.fig.axes) == 4
    np.testing.assert_allclose(view.fig.axes[3].images[0].get_array(), attentions[2][0, 3])


def test_layer_heads_view_shows_each_head_of_the_chosen_layer_with_readable_labels() -> None:
    attentions = random_attentions(layers=3, heads=6)
    view = LayerHeadsView(attentions, TOKENS, layer=1, columns=4)
    shown = [ax for ax in view.fig.axes if ax.get_visible()]
    assert len(shown) == 6 and len(view.fig.axes) == 8  # a 2 x 4 grid, the last two hidden
    np.testing.assert_allclose(shown[5].images[0].get_array(), attentions[1][0, 5])
    assert shown[5].get_title() == "head 5"
    labels = [label for ax in shown for label in ax.get_xticklabels() + ax.get_yticklabels()]
    assert [label.get_text() for label in shown[0].get_yticklabels()] == TOKENS
    assert min(label.get_fontsize() for label in labels) >= 8
    view.layer.value = 2
    shown = [ax for ax in view.fig.axes if ax.get_visible()]
    assert len(view.fig.axes) == 8  # redraws do not pile up
    np.testing.assert_allclose(shown[3].images[0].get_array(), attentions[2][0, 3])
    assert "layer 2" in view.fig._suptitle.get_text()
    long_sentence = [f"t{i}" for i in range(23)]
    weights = torch.softmax(torch.randn(1, 12, 23, 23), dim=-1)
    wide = LayerHeadsView(weights, long_sentence)
    assert wide.columns == 3 and wide.fig.get_size_inches()[0] <= 14.0  # fewer columns, 8 pt kept


def test_model_view_token_selector_keeps_only_that_query_row() -> None:
    attentions = random_attentions(layers=1, heads=2)
    view = ModelView(attentions, TOKENS)
    view.token.value = 4
    shown = view.fig.axes[1].images[0].get_array()
    assert np.ma.getmaskarray(shown).sum() == (T - 1) * T
    assert not np.ma.getmaskarray(shown)[4].any()
    np.testing.assert_allclose(shown[4], attentions[0][0, 1, 4])
    view.token.value = ALL
    assert not np.ma.getmaskarray(view.fig.axes[1].images[0].get_array()).any()


# --- softmax temperature ----------------------------------------------------------------------


def test_temperature_slider_changes_the_bars_to_softmax_of_scaled_scores() -> None:
    scores = torch.randn(T, T, generator=torch.Generator().manual_seed(0)) * 3  # fixed: order-free
    view = SoftmaxTemperatureView(scores, TOKENS, query=2)

    def bars() -> np.ndarray:
        return np.array([patch.get_height() for patch in view.ax_bars.patches])

    np.testing.assert_allclose(bars(), torch.softmax(scores[2], -1).numpy(), rtol=1e-5)
    view.temperature.value = 10.0
    np.testing.assert_allclose(bars(), torch.softmax(scores[2] / 10.0, -1).numpy(), rtol=1e-5)
    assert bars().max() - bars().min() < 0.5  # flatter
    view.temperature.value = 0.1
    assert bars().argmax() == int(scores[2].argmax()) and bars().max() > 0.9
    view.query.value = 5
    np.testing.assert_allclose(bars(), torch.softmax(scores[5] / 0.1, -1).numpy(), rtol=1e-4)
    assert len(view.fig.axes) == 3  # bars, matrix, one colorbar: redraws do not pile up


def test_views_render_png_and_update_the_display_handle() -> None:
    view = HeadView(random_attentions(), TOKENS)
    assert view.png().startswith(b"\x89PNG")

    class Handle:
        def __init__(self) -> None:
            self.updates: list = []

        def update(self, obj: object) -> None:
            self.updates.append(obj)

    handle = Handle()
    view._handles = [handle]
    view.head.value = 1
    assert len(handle.updates) == 1
    assert handle.updates[0].data.startswith(b"\x89PNG")
