"""Concept diagrams drawn from a config, so every size on them comes from the code (ch02-06).

Each function draws one idea as boxes and arrows on a `Diagram`, a matplotlib `Figure` that a
notebook cell shows as a PNG (no pyplot, no image files), in the spirit of Jay Alammar's
Illustrated BERT and the BERT paper's Figure 2. Give it BERT-base's config or the course
model's, and the same picture carries that model's numbers.

- `input_embeddings`: token + segment + position embeddings, summed, then LayerNorm (ch04)
- `attention_head`: one head's queries, keys and values (ch02)
- `multi_head`: split into heads, attend, concatenate, project (ch03)
- `encoder_layer`: the post-LN encoder layer, stacked (ch04)
- `pretraining_heads`: the masked-LM and next-sentence heads (ch05)
- `finetuning_heads`: the three fine-tuning heads side by side (ch06)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from bertlab.finetuning import NER_LABELS, SENTIMENT_LABELS
from bertlab.model import BertConfig

# One colour per kind of thing, the same in every diagram.
TOKEN, MASKED, CHOSEN, FADED = "#fff3bf", "#fcc2d7", "#b2f2bb", "#f1f3f5"
EMBEDDING = {"token": "#ffe08a", "segment": "#c3e6cb", "position": "#c5dcf5", "sum": "#e5dbff"}
QKV = {"Q": "#ffc9c9", "K": "#c3fae8", "V": "#d0ebff"}
ATTENTION, FFN, NORM, ENCODER, HEAD = "#ffd8a8", "#c5f6fa", "#e9ecef", "#dbe4ff", "#ffe3e3"
EDGE, ARROW, NOTE, FRAME = "#495057", "#343a40", "#495057", "#f8f9fa"
MAX_TOKENS = 13  # more columns than this no longer leave room for the labels

EMBEDDING_EXAMPLE = ("[CLS]", "kevin", "visited", "ella", "[SEP]", "her", "kitten", "purred",
                     "[SEP]")
MLM_EXAMPLE = ("[CLS]", "kevin", "[MASK]", "ella", "[SEP]", "her", "[MASK]", "purred", "[SEP]")
MLM_ANSWERS = ("visited", "kitten")  # what the two [MASK]s hide


class Diagram(Figure):
    """A matplotlib Figure that a notebook shows as a PNG on its own, with or without pyplot."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


@dataclass(frozen=True)
class _Box:
    """A drawn box by its centre and size, in inches; arrows attach to the middle of a side."""

    x: float
    y: float
    w: float
    h: float

    @property
    def top(self) -> tuple[float, float]:
        return self.x, self.y + self.h / 2

    @property
    def bottom(self) -> tuple[float, float]:
        return self.x, self.y - self.h / 2

    @property
    def left(self) -> tuple[float, float]:
        return self.x - self.w / 2, self.y

    @property
    def right(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y


def _canvas(width: float, height: float, title: str) -> tuple[Figure, Axes]:
    """A titled figure whose data coordinates are inches from its bottom-left corner."""
    fig = Diagram(figsize=(width, height), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, width), ylim=(0, height))
    ax.axis("off")
    ax.text(width / 2, height - 0.3, title, ha="center", va="center", fontsize=14, weight="bold")
    return fig, ax


def _box(ax: Axes, x: float, y: float, w: float, h: float, text: str = "",
         color: str = TOKEN, size: float = 10, **style: object) -> _Box:
    """A rounded box centred at (x, y) with centred text."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, facecolor=color, edgecolor=EDGE,
                                boxstyle="round,pad=0,rounding_size=0.05", linewidth=1))
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=size, **style)
    return _Box(x, y, w, h)


def _frame(ax: Axes, left: float, bottom: float, right: float, top: float,
           gid: str = "frame") -> None:
    """A pale background that groups boxes (a panel, or the layer that is stacked)."""
    ax.add_patch(FancyBboxPatch((left, bottom), right - left, top - bottom, facecolor=FRAME,
                                edgecolor="#adb5bd", boxstyle="round,pad=0,rounding_size=0.1",
                                gid=gid))


def _arrow(ax: Axes, *points: tuple[float, float]) -> None:
    """An arrow along straight segments through `points`, its head at the last one."""
    ax.add_patch(FancyArrowPatch(path=Path(points), arrowstyle="-|>", mutation_scale=12,
                                 color=ARROW, linewidth=1.2))


def _note(ax: Axes, x: float, y: float, text: str, size: float = 9, **style: object) -> None:
    """Explanatory text beside the boxes."""
    ax.text(x, y, text, fontsize=size, va="center", color=NOTE, **style)


def _label(ax: Axes, x: float, y: float, title: str, detail: str) -> None:
    """A row label at the left: a bold name over a detail line or two."""
    ax.text(x, y + 0.2, title, fontsize=10, weight="bold", va="center")
    ax.text(x, y - 0.1, detail, fontsize=9, va="center", color=NOTE)


def _shape(*dims: object) -> str:
    return f"({', '.join(str(d) for d in dims)})"


def _columns(left: float, right: float, n: int) -> tuple[list[float], float]:
    """Centres of n equal columns between left and right, and the column width."""
    step = (right - left) / n
    return [left + step * (i + 0.5) for i in range(n)], step


def _tokens(ax: Axes, xs: Sequence[float], y: float, tokens: Sequence[str], width: float,
            size: float = 10) -> list[_Box]:
    """One box per token; [MASK] stands out."""
    return [_box(ax, x, y, width, 0.42, t, MASKED if t == "[MASK]" else TOKEN, size)
            for x, t in zip(xs, tokens, strict=True)]


def input_embeddings(config: BertConfig, tokens: Sequence[str] = EMBEDDING_EXAMPLE) -> Figure:
    """BERT's input, as in the paper's Figure 2: three table rows summed per token, LayerNorm."""
    n, hidden = len(tokens), config.hidden_size
    most = min(MAX_TOKENS, config.max_position_embeddings)
    if not 0 < n <= most:
        raise ValueError(f"draw 1 to {most} tokens (the diagram's columns, within "
                         f"max_position_embeddings), got {n}")
    fig, ax = _canvas(10, 6.6, "Input embeddings: which token, which sentence, and where")
    xs, step = _columns(2.05, 9.9, n)
    width, size = step - 0.08, (10 if step >= 0.7 else 9)  # narrower columns, smaller text
    first_sep = list(tokens).index("[SEP]") if "[SEP]" in tokens else n
    _label(ax, 0.15, 5.55, "Input", f"a sentence pair,\nT = {n} tokens")
    token_boxes = _tokens(ax, xs, 5.6, tokens, width, size)
    tables = [  # (name, table rows, what picks the row, the cell for token i)
        ("token", config.vocab_size, "row = token id",
         lambda i: "".join(c for c in tokens[i] if c not in "$\\{}")),  # safe inside mathtext
        ("segment", config.type_vocab_size, "row = sentence A or B",
         lambda i: "A" if i <= first_sep else "B"),
        ("position", config.max_position_embeddings, "row = position", str),
    ]
    for row, (name, rows, picks, cell) in enumerate(tables):
        y = 4.55 - row
        _label(ax, 0.15, y, f"{name.capitalize()} embeddings",
               f"table {_shape(rows, hidden)}\n{picks}")
        for i, x in enumerate(xs):
            _box(ax, x, y, width, 0.5, rf"$E_{{\text{{{cell(i)}}}}}$", EMBEDDING[name], size + 2)
            ax.text(x, y - 0.5, "+" if row < 2 else "=", ha="center", va="center", fontsize=13)
    for box in token_boxes:
        _arrow(ax, box.bottom, (box.x, 4.8))
    _label(ax, 0.15, 1.6, "Sum", f"one vector per token\n(T, H) = {_shape(n, hidden)}")
    sums = [_box(ax, x, 1.55, width, 0.5, rf"$x_{{{i}}}$", EMBEDDING["sum"], size + 2)
            for i, x in enumerate(xs)]
    bar = _box(ax, (xs[0] + xs[-1]) / 2, 0.55, xs[-1] - xs[0] + width, 0.5,
               f"normalize each token's {hidden} numbers  →  (T, H) = {_shape(n, hidden)}, "
               "the input of encoder layer 1", NORM)
    for box in sums:
        _arrow(ax, box.bottom, (box.x, bar.top[1]))
    _label(ax, 0.15, 0.6, "LayerNorm", "and dropout")
    return fig


def attention_head(config: BertConfig) -> Figure:
    """One head: project X to queries, keys and values, score, softmax, average the values."""
    hidden, heads, d_k = config.hidden_size, config.num_attention_heads, config.head_size
    fig, ax = _canvas(10, 5.4, "One attention head: queries, keys and values")
    x = _box(ax, 0.85, 2.6, 1.3, 1.4, f"X\n(T, {hidden})\none row\nper token", EMBEDDING["sum"])
    outputs = {}
    for name, y in zip("QKV", (4.0, 2.6, 1.2), strict=True):
        weight = _box(ax, 2.65, y, 1.3, 0.75, f"× $W_{name}$\n{_shape(hidden, d_k)}", NORM)
        _arrow(ax, x.right, (1.8, x.y), (1.8, y), weight.left)
        outputs[name] = _box(ax, 4.3, y, 1.1, 0.75, f"{name}\n(T, {d_k})", QKV[name])
        _arrow(ax, weight.right, outputs[name].left)
    scores = _box(ax, 6.1, 3.3, 1.6, 0.9, "$QK^{\\top} / \\sqrt{d_k}$\nscores (T, T)", ATTENTION)
    for name, dy in (("Q", 0.2), ("K", -0.2)):
        start = outputs[name].right
        _arrow(ax, start, (5.05, start[1]), (5.05, scores.y + dy), (scores.left[0], scores.y + dy))
    _note(ax, 6.1, 4.3, "how well each query\nmatches each key", ha="center")
    softmax = _box(ax, 7.95, 3.3, 1.3, 0.9, "softmax\nper row\n(T, T)", ATTENTION)
    _note(ax, 7.95, 4.3, "each row sums to 1:\nhow much to take", ha="center")
    _arrow(ax, scores.right, softmax.left)
    root = d_k**0.5
    _note(ax, 6.1, 2.3, f"÷ √{d_k} {'=' if root.is_integer() else '≈'} {root:.3g}: keeps the\n"
          "softmax from saturating", ha="center")
    mix = _box(ax, 7.95, 1.2, 1.3, 0.75, f"weights · V\n(T, T) · (T, {d_k})", ATTENTION)
    _arrow(ax, softmax.bottom, mix.top)
    _arrow(ax, outputs["V"].right, mix.left)
    z = _box(ax, 9.35, 1.2, 1.0, 0.75, f"Z\n(T, {d_k})", QKV["V"])
    _arrow(ax, mix.right, z.left)
    _note(ax, 0.3, 0.35, f"$d_k$ = {d_k} = hidden_size / num_attention_heads = {hidden} / "
          f"{heads};   T = number of tokens;   Z is this head's output for every token")
    return fig


def multi_head(config: BertConfig) -> Figure:
    """Multi-head attention: split the hidden size into heads, attend in each, concat, project."""
    hidden, heads, d_k = config.hidden_size, config.num_attention_heads, config.head_size
    fig, ax = _canvas(10, 6.4, f"Multi-head attention: {heads} heads of {d_k} dimensions")
    shown = list(range(heads)) if heads <= 12 else [*range(5), None, *range(heads - 5, heads)]
    xs, step = _columns(1.95, 9.85, len(shown))
    centre, span = (xs[0] + xs[-1]) / 2, xs[-1] - xs[0] + step
    colors = matplotlib.colormaps["Set3"]
    x = _box(ax, centre, 5.4, 2.6, 0.45, f"X   (T, {hidden})", EMBEDDING["sum"])
    proj = _box(ax, centre, 4.55, span, 0.55, f"Q = X $W_Q$,  K = X $W_K$,  V = X $W_V$:  "
                f"each W is {_shape(hidden, hidden)}, each result (T, {hidden})", NORM)
    _arrow(ax, x.bottom, proj.top)
    _label(ax, 0.15, 3.65, "Split", f"Q, K, V each cut into\n{heads} slices of $d_k$ = {d_k}")
    _label(ax, 0.15, 2.55, "Attend", "each head alone,\non its own slice")
    _label(ax, 0.15, 1.45, "Concat", f"{heads} × {d_k} = {hidden}")
    _arrow(ax, proj.bottom, (centre, 3.85))
    concat_y = 1.45
    for x_i, head in zip(xs, shown, strict=True):
        if head is None:
            for y in (3.65, 2.55, concat_y):
                ax.text(x_i, y, "…", ha="center", va="center", fontsize=14)
            continue
        color = colors(head % colors.N)
        for y in (3.65, concat_y):  # the head's slice of Q, K, V, then of the concatenation
            _box(ax, x_i, y, step, 0.36, str(d_k), color, 9)
        box = _box(ax, x_i, 2.55, step - 0.05, 0.8, f"head {head + 1}\n(T, {d_k})", color, 9)
        _arrow(ax, (x_i, 3.47), box.top)
        _arrow(ax, box.bottom, (x_i, concat_y + 0.18))
    out = _box(ax, centre, 0.55, span, 0.5, f"output projection $W_O$ {_shape(hidden, hidden)}"
               f"  →  (T, {hidden}): mixes what the heads found", NORM)
    _arrow(ax, (centre, concat_y - 0.18), out.top)
    return fig


def encoder_layer(config: BertConfig) -> Figure:
    """The post-LN encoder layer: attention, then a feed-forward block, each added and normed."""
    hidden, inner, heads = config.hidden_size, config.intermediate_size, config.num_attention_heads
    layers, p = config.num_hidden_layers, config.hidden_dropout_prob
    fig, ax = _canvas(10, 9.6, f"The encoder layer (post-LN), stacked {layers} times")
    for offset in (0.16, 0.08, 0.0):  # the copies behind ("stack") stand for the other layers
        _frame(ax, 1.9 + offset, 0.85 + offset, 9.6 + offset, 8.25 + offset,
               "stack" if offset else "frame")
    ax.text(1.05, 4.75, f"× {layers}", ha="center", va="center", fontsize=22, weight="bold")
    ax.text(1.05, 4.25, "layers", ha="center", va="center", fontsize=11)
    cx, width = 4.7, 3.0

    def block(y: float, text: str, color: str, note: str, height: float = 0.46) -> _Box:
        _note(ax, cx + width / 2 + 0.25, y, note)
        return _box(ax, cx, y, width, height, text, color)

    def add(y: float, note: str) -> _Box:
        ax.add_patch(Circle((cx, y), 0.17, facecolor="white", edgecolor=EDGE))
        ax.text(cx, y, "+", ha="center", va="center", fontsize=13, weight="bold")
        _note(ax, cx + width / 2 + 0.25, y, note)
        return _Box(cx, y, 0.34, 0.34)

    chain = [
        _box(ax, cx, 0.45, 4.2, 0.46, f"x   (T, {hidden}): the embeddings, or the layer below",
             EMBEDDING["sum"]),
        block(1.75, "Multi-head self-attention", ATTENTION,
              f"{heads} heads of $d_k$ = {config.head_size}\n(T, {hidden}) → (T, {hidden})", 0.56),
        block(2.45, "Dropout", NORM, f"p = {p} (hidden_dropout_prob)"),
        add(3.08, "add the input back: x + Attention(x)"),
        block(3.72, "LayerNorm", NORM, f"normalize each token's {hidden} numbers"),
        block(4.6, f"Linear {hidden} → {inner}", FFN,
              f"(T, {hidden}) → (T, {inner}), {inner / hidden:.3g}× wider"),
        block(5.26, "GELU", FFN, "a smooth ReLU, number by number"),
        block(5.92, f"Linear {inner} → {hidden}", FFN, f"(T, {inner}) → (T, {hidden})"),
        block(6.58, "Dropout", NORM, f"p = {p}"),
        add(7.22, "add back: x + FeedForward(x)"),
        block(7.86, "LayerNorm", NORM, "LayerNorm after each add: post-LN"),
        _box(ax, cx, 8.8, 4.2, 0.46, f"(T, {hidden}): to the next layer, or to the heads",
             EMBEDDING["sum"]),
    ]
    for below, above in zip(chain, chain[1:], strict=False):
        _arrow(ax, below.top, above.bottom)
    rail = cx - width / 2 - 0.5  # the residual connections run up the left side
    for branch, plus in ((1.12, chain[3]), (4.16, chain[9])):
        ax.add_patch(Circle((cx, branch), 0.045, color=ARROW))
        _arrow(ax, (cx, branch), (rail, branch), (rail, plus.y), plus.left)
        ax.text(rail - 0.15, (branch + plus.y) / 2, "residual", rotation=90, ha="center",
                va="center", fontsize=9, color=NOTE)
    return fig


def pretraining_heads(config: BertConfig) -> Figure:
    """Pretraining: the masked-LM head guesses the hidden words, the NSP head reads [CLS]."""
    hidden, vocab, layers = config.hidden_size, config.vocab_size, config.num_hidden_layers
    fig, ax = _canvas(10, 7.0, "Pretraining heads: masked words (MLM) and the next sentence (NSP)")
    xs, step = _columns(0.2, 9.8, len(MLM_EXAMPLE))
    tokens = _tokens(ax, xs, 0.45, MLM_EXAMPLE, step - 0.12)
    encoder = _box(ax, 5.0, 1.35, 9.6, 0.6,
                   f"BERT encoder: embeddings + {layers} layers  →  (T, {hidden})", ENCODER)
    states = [_box(ax, x, 2.3, step - 0.12, 0.42, rf"$h_{{{i}}}$", EMBEDDING["sum"], 11)
              for i, x in enumerate(xs)]
    for token, state in zip(tokens, states, strict=True):
        _arrow(ax, token.top, (token.x, encoder.bottom[1]))
        _arrow(ax, (state.x, encoder.top[1]), state.bottom)

    pooler = _box(ax, 1.15, 3.35, 1.75, 0.62, f"Pooler\n{_shape(hidden, hidden)} + tanh", HEAD)
    nsp = _box(ax, 1.15, 4.35, 1.75, 0.62, f"NSP classifier\n{hidden} → 2", HEAD)
    is_next = _box(ax, 1.15, 5.5, 1.75, 0.62, "IsNext\nor NotNext", CHOSEN)
    _arrow(ax, states[0].top, (states[0].x, pooler.bottom[1]))
    _arrow(ax, pooler.top, nsp.bottom)
    _arrow(ax, nsp.top, is_next.bottom)

    transform = _box(ax, 6.05, 3.3, 7.5, 0.5, f"MLM transform: dense {_shape(hidden, hidden)}"
                     " + GELU, the same at every [MASK]", HEAD)
    norm = _box(ax, 6.05, 3.95, 7.5, 0.4, f"LayerNorm ({hidden})", NORM)
    decoder = _box(ax, 6.05, 4.7, 7.5, 0.66,
                   f"Decoder: × (token embedding table)$^\\top$, {hidden} → {vocab}, + bias\n"
                   f"tied: the same {_shape(vocab, hidden)} matrix the input looks words up in",
                   HEAD)
    _arrow(ax, transform.top, norm.bottom)
    _arrow(ax, norm.top, decoder.bottom)
    masked = [i for i, token in enumerate(MLM_EXAMPLE) if token == "[MASK]"]
    for i, word in zip(masked, MLM_ANSWERS, strict=True):
        _arrow(ax, states[i].top, (xs[i], transform.bottom[1]))
        guess = _box(ax, xs[i], 5.6, 1.1, 0.45, word, CHOSEN)
        _arrow(ax, (xs[i], decoder.top[1]), guess.bottom)
    _note(ax, (xs[masked[0]] + xs[masked[-1]]) / 2, 5.6, f"softmax over {vocab} tokens",
          ha="center")
    _note(ax, 5.0, 6.3, "loss = MLM cross-entropy at the [MASK] positions + NSP cross-entropy",
          size=10, ha="center")
    return fig


SENTENCE_EXAMPLE = ("[CLS]", "the", "soup", "was", "tasty", "[SEP]")
TAGGING_EXAMPLE = (("[CLS]", ""), ("ella", "B-PER"), ("met", "O"), ("kevin", "B-PER"),
                   ("[SEP]", ""))
QA_EXAMPLE = ("[CLS]", "what", "was", "kevin", "[SEP]", "kevin", "was", "a", "clerk", "[SEP]")
QA_ANSWER = (7, 8)  # the start and end token of "a clerk"


def finetuning_heads(config: BertConfig) -> Figure:
    """The three fine-tuning heads on one encoder: a label per sequence, per token, or a span."""
    hidden, layers = config.hidden_size, config.num_hidden_layers
    fig, ax = _canvas(11, 6.0, "Fine-tuning: one pretrained encoder, three small heads")
    examples = (SENTENCE_EXAMPLE, tuple(t for t, _ in TAGGING_EXAMPLE), QA_EXAMPLE)
    titles = ("Sequence classification", "Token classification", "Question answering (span)")
    pad, gap = 0.08, 0.15
    step = (11 - 0.2 - 2 * gap - 6 * pad) / sum(map(len, examples))
    panels, left = [], 0.1
    for title, tokens in zip(titles, examples, strict=True):
        right = left + 2 * pad + step * len(tokens)
        _frame(ax, left, 0.15, right, 5.35)
        ax.text((left + right) / 2, 5.05, title, ha="center", va="center", fontsize=11,
                weight="bold")
        xs, _ = _columns(left + pad, right - pad, len(tokens))
        _tokens(ax, xs, 0.55, tokens, step - 0.05, 9)
        encoder = _box(ax, (xs[0] + xs[-1]) / 2, 1.45, xs[-1] - xs[0] + step, 0.6,
                       f"BERT encoder\n{layers} layers, H = {hidden}", ENCODER, 9)
        for x in xs:
            _arrow(ax, (x, 0.76), (x, encoder.bottom[1]))
        panels.append((xs, encoder))
        left = right + gap

    (xs, encoder), centre = panels[0], panels[0][1].x
    head = _box(ax, centre, 2.75, encoder.w, 0.7,
                f"pooler {_shape(hidden, hidden)} + tanh on [CLS],\n"
                f"dropout, Linear {hidden} → {config.num_labels}", HEAD, 9)
    _arrow(ax, (xs[0], encoder.top[1]), (xs[0], head.bottom[1]))
    names = SENTIMENT_LABELS if config.num_labels == len(SENTIMENT_LABELS) else tuple(
        f"class {i}" for i in range(config.num_labels))
    label_xs, label_w = _columns(head.left[0], head.right[0], len(names))
    for i, (x, name) in enumerate(zip(label_xs, names, strict=True)):
        label = _box(ax, x, 3.85, label_w - 0.1, 0.42, name, CHOSEN if i == 1 else FADED, 9)
        _arrow(ax, (x, head.top[1]), label.bottom)
    _note(ax, centre, 4.5, f"one label per sequence\n({config.num_labels} classes)", ha="center")

    xs, encoder = panels[1]
    head = _box(ax, encoder.x, 2.75, encoder.w, 0.7,
                f"Linear {hidden} → {len(NER_LABELS)}\non every token", HEAD, 9)
    for x, (_, tag) in zip(xs, TAGGING_EXAMPLE, strict=True):
        _arrow(ax, (x, encoder.top[1]), (x, head.bottom[1]))
        label = _box(ax, x, 3.85, step - 0.05, 0.42, tag or "–", CHOSEN if tag else FADED, 9)
        _arrow(ax, (x, head.top[1]), label.bottom)
    _note(ax, encoder.x, 4.5, f"one of {len(NER_LABELS)} tags per token\n"
          "([CLS], [SEP]: no label)", ha="center")

    xs, encoder = panels[2]
    head = _box(ax, encoder.x, 2.75, encoder.w, 0.7,
                f"Linear {hidden} → 2\na start and an end score per token", HEAD, 9)
    passage = range(QA_EXAMPLE.index("[SEP]") + 1, len(QA_EXAMPLE) - 1)  # where answers can be
    for row, (name, y) in enumerate((("start", 3.65), ("end", 4.0))):  # one score per cell
        for i, x in enumerate(xs):
            color = CHOSEN if i == QA_ANSWER[row] else (ATTENTION if i in passage else FADED)
            _box(ax, x, y, step - 0.05, 0.33, name if i == QA_ANSWER[row] else "", color, 8)
    for x in xs:
        _arrow(ax, (x, encoder.top[1]), (x, head.bottom[1]))
        _arrow(ax, (x, head.top[1]), (x, 3.48))
    answer = " ".join(QA_EXAMPLE[QA_ANSWER[0]:QA_ANSWER[1] + 1])
    _note(ax, encoder.x, 4.5, "the answer is the best span in the passage\n"
          f'with start ≤ end: "{answer}"', ha="center")
    return fig
