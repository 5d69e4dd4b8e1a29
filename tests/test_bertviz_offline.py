"""bertviz's views must load nothing from the network: the shipped scripts replace its CDN tags."""

from __future__ import annotations

import re

import pytest
import torch

from bertlab.viz.attention import bertviz_head_view, bertviz_model_view
from bertlab.viz.bertviz_offline import JS_DIR, MODULE_FILES, REQUIREJS_FILE, offline_bertviz_html

TOKENS = ["[CLS]", "the", "dog", "ran", "[SEP]"]


def attentions() -> tuple[torch.Tensor, ...]:
    torch.manual_seed(0)
    return tuple(torch.softmax(torch.randn(1, 2, 5, 5), dim=-1) for _ in range(2))


@pytest.mark.parametrize("view", [bertviz_head_view, bertviz_model_view])
def test_bertviz_views_load_no_script_from_the_network(view) -> None:
    pytest.importorskip("bertviz")
    html = view(attentions(), TOKENS).data
    assert not re.search(r"<script[^>]+src=", html), "no external <script src=...>"
    assert "cdnjs" not in html
    assert not re.search(r"require\.config\(\{\s*paths", html)  # bertviz's CDN paths are gone
    for name in (REQUIREJS_FILE, *MODULE_FILES.values()):
        assert (JS_DIR / name).read_text(encoding="utf-8")[-200:] in html  # inlined whole
    # require.js comes first, then d3 and jQuery, then bertviz's own script asks for them
    order = [html.index(s) for s in ("RequireJS 2.3.6", "d3js.org", "requirejs(['jquery'")]
    assert order == sorted(order)


def test_every_shipped_script_has_its_licence() -> None:
    for licence in ("LICENSE-requirejs.txt", "LICENSE-d3.txt", "LICENSE-jquery.txt"):
        assert (JS_DIR / licence).stat().st_size > 500
    total = sum(path.stat().st_size for path in JS_DIR.iterdir())
    assert total < 1_000_000  # small enough to inline into a notebook output


def test_an_unknown_bertviz_layout_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="bertviz version"):
        offline_bertviz_html("<div>no scripts here</div>")
