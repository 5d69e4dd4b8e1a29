"""The unit tests must run offline: prove the network block is real and loopback still works."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request

import pytest
from conftest import NetworkBlocked


def test_outbound_connect_is_blocked() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(NetworkBlocked):
            sock.connect(("1.1.1.1", 443))


def test_name_lookup_is_blocked() -> None:
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("huggingface.co", 443)


def test_http_download_is_blocked() -> None:
    with pytest.raises((NetworkBlocked, urllib.error.URLError)):
        urllib.request.urlopen("https://huggingface.co/bert-base-uncased", timeout=5)


def test_loopback_still_works() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        accepted.append(conn.recv(5))
        conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(b"hello")
    thread.join(timeout=5)
    server.close()
    assert accepted == [b"hello"]


def test_transformers_cannot_reach_the_hub() -> None:
    transformers = pytest.importorskip("transformers")
    with pytest.raises(Exception):  # noqa: B017 - any failure is fine, a download is not
        transformers.AutoConfig.from_pretrained("bert-base-uncased")
