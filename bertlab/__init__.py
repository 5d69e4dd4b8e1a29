"""bertlab: the package the course's chapters derive, one module per idea.

Names are imported lazily so that `import bertlab` stays fast and a chapter only pays for
the modules it uses (chapter 00 needs no torch at all).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # chapter 00
    "TinyWorld": "bertlab.tinyworld.corpus",
    "generate_corpus": "bertlab.tinyworld.corpus",
    "read_bert_text": "bertlab.tinyworld.corpus",
    # chapter 01
    "BertTokenizer": "bertlab.tokenizer",
    # chapter 04
    "BertConfig": "bertlab.model",
    "BertModel": "bertlab.model",
    "BertForPreTraining": "bertlab.model",
    "BertForMaskedLM": "bertlab.model",
    "BertForSequenceClassification": "bertlab.model",
    "BertForTokenClassification": "bertlab.model",
    "BertForQuestionAnswering": "bertlab.model",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name from the module that defines it, on first use."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bertlab' has no attribute {name!r}")
