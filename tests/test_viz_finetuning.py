"""Chapter 06's views: the question-answering explorer and the answer highlight."""

from __future__ import annotations

import pytest
import torch

from bertlab.finetuning import NER_LABELS
from bertlab.model import BertForQuestionAnswering, BertForTokenClassification
from bertlab.viz.finetuning import QAExplorer, TaggerExplorer, highlight_html


def qa_config(small_config, vocab_size: int):  # type: ignore[no-untyped-def]
    """One small layer that reads whole passages (128 positions)."""
    return small_config(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def test_qa_explorer_updates_answer_and_figure(world, tokenizer, small_config) -> None:  # type: ignore[no-untyped-def]
    first_per_passage = {e.context: e for e in reversed(world.qa_examples())}
    examples = list(reversed(first_per_passage.values()))[:3]  # three different passages
    torch.manual_seed(0)
    model = BertForQuestionAnswering(qa_config(small_config, tokenizer.vocab_size))
    explorer = QAExplorer(model, tokenizer, [e.context for e in examples])
    assert explorer.answer is None and "Type a question" in explorer.html()
    explorer.question.value = examples[0].question
    answer = explorer.answer
    assert answer is not None and answer.text in examples[0].context
    assert "<mark" in explorer.html() and answer.text.split()[0] in explorer.html()
    heights = [p.get_height() for p in explorer.ax.patches]
    assert len(heights) == 2 * len(answer.tokens)
    assert heights[: len(answer.tokens)] == pytest.approx(answer.start_probs.tolist())
    explorer.passage.value = 2
    assert explorer.answer is not None and explorer.answer.text in examples[2].context
    assert explorer.answer.tokens != answer.tokens  # the figure now shows the other passage
    assert explorer.png().startswith(b"\x89PNG")


def test_qa_explorer_text_is_readable(world, tokenizer, small_config) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.text import Text

    example = world.qa_examples()[0]
    torch.manual_seed(0)
    model = BertForQuestionAnswering(qa_config(small_config, tokenizer.vocab_size))
    explorer = QAExplorer(model, tokenizer, [example.context], question=example.question)
    explorer.png()  # lays out the figure as the notebook shows it
    sizes = [t.get_fontsize() for t in explorer.fig.findobj(Text) if t.get_text().strip()]
    assert sizes and min(sizes) >= 8  # every tick label, title and legend entry
    assert explorer.fig.dpi >= 100  # a PNG shown at its own size: points stay points
    assert explorer.fig.get_figwidth() * explorer.fig.dpi <= 950  # no shrinking to fit the page


def test_highlight_html_escapes_and_marks() -> None:
    html = highlight_html("a <b> & c", 4, 7)
    assert html == 'a &lt;b<mark style="background:#ffd54f">&gt; &amp;</mark> c'
    with pytest.raises(ValueError):
        highlight_html("abc", 2, 5)


def test_tagger_explorer_tags_each_word_once(tokenizer, small_config) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.text import Text

    torch.manual_seed(0)
    config = qa_config(small_config, tokenizer.vocab_size)
    config.num_labels = len(NER_LABELS)
    model = BertForTokenClassification(config)
    explorer = TaggerExplorer(model, tokenizer)
    assert explorer.words == [] and "Type a sentence" in explorer.html()
    explorer.sentence.value = "Leo visited Rivergate, then Willa."
    assert explorer.words == ["Leo", "visited", "Rivergate", ",", "then", "Willa", "."]
    assert explorer.probs.shape == (7, len(NER_LABELS))
    assert explorer.probs.sum(-1) == pytest.approx([1.0] * 7, abs=1e-5)
    for kind, start, end in explorer.entities():  # every entity the map shows is marked
        assert kind in {"PER", "LOC", "ORG"} and 0 <= start < end <= 7
    assert explorer.html().count("<mark") == len(explorer.entities())
    explorer.png()
    sizes = [t.get_fontsize() for t in explorer.fig.findobj(Text) if t.get_text().strip()]
    assert min(sizes) >= 8 and explorer.fig.dpi >= 100
