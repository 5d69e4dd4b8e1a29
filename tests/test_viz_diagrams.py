"""Tests for the concept diagrams: every number comes from the config, and each is readable."""

from __future__ import annotations

import re
from itertools import combinations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from bertlab.course_model import COURSE_MODEL_DIR
from bertlab.finetuning import NER_LABELS
from bertlab.model import BertConfig
from bertlab.viz import diagrams

DIAGRAMS = [diagrams.input_embeddings, diagrams.attention_head, diagrams.multi_head,
            diagrams.encoder_layer, diagrams.pretraining_heads, diagrams.finetuning_heads]
BERT_BASE = BertConfig()
COURSE = BertConfig.from_pretrained(COURSE_MODEL_DIR)  # hidden 128, 4 layers, 4 heads, vocab 3939
# Sizes neither model has: any number of BERT-base or the course model on its diagrams was typed.
ODD = BertConfig(vocab_size=1234, hidden_size=96, num_hidden_layers=5, num_attention_heads=4,
                 intermediate_size=200, max_position_embeddings=40, hidden_dropout_prob=0.25,
                 num_labels=3)
CONFIGS = pytest.mark.parametrize("config", [BERT_BASE, COURSE, ODD], ids=["base", "course", "odd"])


def texts(fig: Figure) -> list[str]:
    """Every visible string on the figure, with mathtext's $ signs dropped."""
    return [t.get_text().replace("$", "") for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip()]


def has(fig: Figure, *fragments: str) -> bool:
    joined = "\n".join(texts(fig))
    missing = [f for f in fragments if f not in joined]
    assert not missing, f"missing {missing} in {texts(fig)}"
    return True


def test_input_embeddings_show_the_three_tables_of_the_config() -> None:
    for c in (BERT_BASE, COURSE):
        h = c.hidden_size
        fig = diagrams.input_embeddings(c)
        assert has(fig, f"table ({c.vocab_size}, {h})", f"table ({c.type_vocab_size}, {h})",
                   f"table ({c.max_position_embeddings}, {h})", f"(T, H) = (9, {h})")
    fig = diagrams.input_embeddings(COURSE, ["[CLS]", "dogs", "[SEP]", "run", "[SEP]"])
    assert has(fig, "E_{\\text{dogs}}", "E_{\\text{A}}", "E_{\\text{B}}", "(T, H) = (5, 128)")
    assert sum(t == "E_{\\text{A}}" for t in texts(fig)) == 3  # [CLS] dogs [SEP] are sentence A
    with pytest.raises(ValueError, match="tokens"):
        diagrams.input_embeddings(COURSE, [])
    with pytest.raises(ValueError, match="1 to 13 tokens"):
        diagrams.input_embeddings(COURSE, ["a"] * 14)


def test_attention_head_shapes_follow_the_head_size() -> None:
    assert has(diagrams.attention_head(BERT_BASE), "(T, 768)", "(768, 64)", "(T, 64)",
               "d_k = 64 = hidden_size / num_attention_heads = 768 / 12", "√64 = 8")
    assert has(diagrams.attention_head(COURSE), "(T, 128)", "(128, 32)", "(T, 32)", "d_k = 32",
               "√32 ≈ 5.66")


def test_multi_head_draws_one_box_per_head() -> None:
    for c, d_k in ((BERT_BASE, 64), (COURSE, 32)):
        fig = diagrams.multi_head(c)
        heads = c.num_attention_heads
        assert has(fig, f"{heads} heads of {d_k}", f"{heads} × {d_k} = {c.hidden_size}",
                   f"d_k = {d_k}", f"W_O ({c.hidden_size}, {c.hidden_size})")
        assert sorted(t for t in texts(fig) if t.startswith("head ")) == sorted(
            f"head {i + 1}\n(T, {d_k})" for i in range(heads))
    fig = diagrams.multi_head(BertConfig(hidden_size=1024, num_attention_heads=16))  # BERT-large
    assert has(fig, "head 16\n(T, 64)", "…") and "head 8\n(T, 64)" not in texts(fig)


def test_encoder_layer_is_post_ln_with_the_configs_sizes() -> None:
    assert has(diagrams.encoder_layer(BERT_BASE), "Linear 768 → 3072", "Linear 3072 → 768",
               "× 12", "12 heads of d_k = 64", "p = 0.1", "4× wider", "post-LN")
    fig = diagrams.encoder_layer(COURSE)
    assert has(fig, "Linear 128 → 512", "Linear 512 → 128", "× 4", "4 heads of d_k = 32",
               "p = 0.0")
    order = [t for t in texts(fig) if t in ("Multi-head self-attention", "Dropout", "+",
                                            "LayerNorm", "GELU") or t.startswith("Linear")]
    assert order == ["Multi-head self-attention", "Dropout", "+", "LayerNorm", "Linear 128 → 512",
                     "GELU", "Linear 512 → 128", "Dropout", "+", "LayerNorm"]


def test_pretraining_heads_decode_to_the_vocabulary() -> None:
    for c in (BERT_BASE, COURSE):
        v, h = c.vocab_size, c.hidden_size
        fig = diagrams.pretraining_heads(c)
        assert has(fig, f"{h} → {v}", f"({v}, {h}) matrix", f"softmax over {v} tokens",
                   f"NSP classifier\n{h} → 2", f"dense ({h}, {h})", f"{c.num_hidden_layers} layers")
        assert texts(fig).count("[MASK]") == 2 and has(fig, "visited", "kitten")


def test_finetuning_heads_side_by_side() -> None:
    for c in (BERT_BASE, COURSE):
        h = c.hidden_size
        fig = diagrams.finetuning_heads(c)
        assert has(fig, f"Linear {h} → {c.num_labels}", f"Linear {h} → {len(NER_LABELS)}",
                   f"Linear {h} → 2\na start and an end score", "negative", "positive", "B-PER",
                   '"a clerk"')
    assert has(diagrams.finetuning_heads(ODD), "Linear 96 → 3", "class 0", "class 2")


def sizes(config: BertConfig) -> set[float]:
    """The config's sizes of 10 and more (smaller numbers also count tokens and heads)."""
    fields = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
              "intermediate_size", "max_position_embeddings", "head_size")
    return {float(getattr(config, f)) for f in fields} - set(map(float, range(10)))


@CONFIGS
@pytest.mark.parametrize("draw", DIAGRAMS, ids=lambda f: f.__name__)
def test_numbers_come_from_the_config(draw, config: BertConfig) -> None:  # type: ignore[no-untyped-def]
    numbers = {float(n) for t in texts(draw(config)) for n in re.findall(r"\d+(?:\.\d+)?", t)}
    foreign = (sizes(BERT_BASE) | sizes(COURSE) | sizes(ODD)) - sizes(config)
    assert not numbers & foreign, f"another model's sizes on {draw.__name__}"


def extents(fig: Figure) -> tuple[Bbox, list[tuple[str, Bbox]], list[Bbox]]:
    renderer = FigureCanvasAgg(fig).get_renderer()
    words = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    boxes = [p.get_window_extent(renderer) for p in fig.findobj(FancyBboxPatch)
             if p.get_gid() != "stack"]  # the layer's copies drawn behind it overlap on purpose
    return fig.bbox, words, boxes


def overlap(a: Bbox, b: Bbox, slack: float = 1.0) -> bool:
    """Whether two extents share more than `slack` pixels each way."""
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > slack
            and min(a.y1, b.y1) - max(a.y0, b.y0) > slack)


def inside(inner: Bbox, outer: Bbox, slack: float = 1.0) -> bool:
    return (inner.x0 >= outer.x0 - slack and inner.x1 <= outer.x1 + slack
            and inner.y0 >= outer.y0 - slack and inner.y1 <= outer.y1 + slack)


# Chapter 04's pair, "The dog ate the bone." / "It was hungry.", as MiniLM's tokenizer cuts it.
LONGEST_PAIR = ["[CLS]", "the", "dog", "ate", "the", "bone", ".", "[SEP]", "it", "was", "hungry",
                ".", "[SEP]"]
READABLE = [(draw, config) for draw in DIAGRAMS for config in (BERT_BASE, COURSE, ODD)]
READABLE.append((lambda config: diagrams.input_embeddings(config, LONGEST_PAIR), BERT_BASE))


@pytest.mark.parametrize(("draw", "config"), READABLE)
def test_diagram_is_readable(draw, config: BertConfig) -> None:  # type: ignore[no-untyped-def]
    fig = draw(config)
    assert isinstance(fig, Figure) and 9 <= fig.get_figwidth() <= 11
    sizes = {t.get_text(): t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip()}
    assert min(sizes.values()) >= 8, {t: s for t, s in sizes.items() if s < 8}
    assert max(sizes.values()) >= 14  # the title
    page, words, boxes = extents(fig)
    for text, extent in words:
        assert inside(extent, page), f"{text!r} is cut off"
    for (a, box_a), (b, box_b) in combinations(words, 2):
        assert not overlap(box_a, box_b), f"{a!r} overlaps {b!r}"
    for text, extent in words:  # text that starts in a box stays in it
        for box in boxes:
            if box.contains((extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2):
                assert inside(extent, box), f"{text!r} spills out of its box"
    for a, b in combinations(boxes, 2):  # boxes are apart, or one holds the other (a panel)
        assert not overlap(a, b) or inside(a, b) or inside(b, a)
    assert fig._repr_png_().startswith(b"\x89PNG")  # what a notebook cell shows


def test_the_layout_checks_reject_a_cramped_figure() -> None:
    fig = Figure(figsize=(10, 2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.add_patch(FancyBboxPatch((0.1, 0.1), 0.05, 0.3, boxstyle="square,pad=0"))
    ax.add_patch(FancyBboxPatch((0.12, 0.2), 0.3, 0.3, boxstyle="square,pad=0"))
    ax.text(0.12, 0.25, "a label far too long for its box")
    ax.text(0.13, 0.26, "another label")
    ax.text(0.99, 0.5, "cut off at the right")
    page, words, boxes = extents(fig)
    assert overlap(words[0][1], words[1][1]) and not inside(words[2][1], page)
    assert not inside(words[0][1], boxes[0]) and overlap(boxes[0], boxes[1])
    assert not (inside(boxes[0], boxes[1]) or inside(boxes[1], boxes[0]))
