"""Shared test setup: unit tests run with outbound network blocked, as a learner offline would."""

from __future__ import annotations

import importlib.util
import ipaddress
import socket
from pathlib import Path
from types import ModuleType

import pytest


class NetworkBlocked(RuntimeError):
    """Raised when code under test tries to reach a non-local address."""


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_local(host: object) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local(host):
        raise NetworkBlocked(f"network access to {address!r} is blocked in tests")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local(host):
        raise NetworkBlocked(f"network access to {address!r} is blocked in tests")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    if isinstance(host, bytes):
        host = host.decode()
    if host is not None and not _is_local(host):
        raise NetworkBlocked(f"name lookup of {host!r} is blocked in tests")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)


def load_solution(stem: str) -> ModuleType:
    """Import `solutions/<stem>.py` (not a package) so exercise tests can grade the reference."""
    path = Path(__file__).resolve().parent.parent / "solutions" / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(stem, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# The one small BERT shape of the unit tests: big enough to have every part (2 layers, 4 heads,
# head size 5, an odd intermediate size), small enough to run in milliseconds.
SMALL_CONFIG = dict(vocab_size=61, hidden_size=20, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=33, max_position_embeddings=24)


@pytest.fixture
def small_config():  # type: ignore[no-untyped-def]
    """A factory of small BertConfigs: the shared shape, with any field overridden."""
    from bertlab.model import BertConfig

    def make(**overrides: object) -> BertConfig:
        return BertConfig(**{**SMALL_CONFIG, **overrides})  # type: ignore[arg-type]

    make.values = dict(SMALL_CONFIG)  # the shape as config.json keys
    return make


@pytest.fixture
def tiny_model(small_config):  # type: ignore[no-untyped-def]
    """A factory of tiny BertForPreTraining models (2 layers, 2 heads) for a given vocabulary."""
    import torch

    from bertlab.model import BertForPreTraining

    def make(vocab_size: int, dropout: float = 0.0, seed: int = 0) -> BertForPreTraining:
        torch.manual_seed(seed)
        config = small_config(vocab_size=vocab_size, hidden_size=32, num_attention_heads=2,
                              intermediate_size=64, max_position_embeddings=48,
                              hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
        return BertForPreTraining(config)

    return make


@pytest.fixture(scope="session")
def world():  # type: ignore[no-untyped-def]
    """A small TinyWorld corpus (160 documents) shared by the pretraining, probe and view tests."""
    from bertlab.tinyworld.corpus import generate_corpus

    return generate_corpus(160, seed=5)


@pytest.fixture(scope="session")
def tokenizer(world):  # type: ignore[no-untyped-def]
    """A 600-token WordPiece vocabulary trained on `world`."""
    from bertlab.tokenizer import BertTokenizer

    return BertTokenizer.train(world.sentences(), 600)
