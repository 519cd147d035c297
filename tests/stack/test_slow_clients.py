"""Slow clients through the real nginx: 200 connections that send their headers
a few bytes at a time (slowloris) neither stop others from being served nor
stay open past nginx's 10-second timeouts."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from tests.https_checks import Stack

SLOW_CLIENTS = 200


def open_slow_clients(host: str, port: int) -> list[socket.socket]:
    clients = []
    for _ in range(SLOW_CLIENTS):
        client = socket.create_connection((host, port), timeout=5)
        client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # and never the blank line
        clients.append(client)
    return clients


def closed_by_server(client: socket.socket) -> bool:
    client.settimeout(0.2)
    try:
        return client.recv(4096) == b""  # an orderly close
    except TimeoutError:
        return False
    except OSError:
        return True  # reset


def test_slowloris_neither_blocks_others_nor_lingers(stack: Stack):
    parts = urlsplit(stack.http_url)
    slow = open_slow_clients(parts.hostname, parts.port)
    try:
        session = stack.session()
        started = time.monotonic()
        for _ in range(20):
            for client in slow[::20]:  # keep some trickling, as slowloris does
                client.sendall(b"X-a: b\r\n")
            response = session.get(stack.https_url + "/healthz", timeout=5)
            assert response.status_code == 200
        assert time.monotonic() - started < 10, "others waited on the slow clients"
        # client_header_timeout (10 s) closes them, trickling or not.
        deadline = time.monotonic() + 25
        open_ = slow
        while open_ and time.monotonic() < deadline:
            time.sleep(1)
            open_ = [client for client in open_ if not closed_by_server(client)]
        assert not open_, f"{len(open_)} of {SLOW_CLIENTS} slow connections still open"
        assert session.get(stack.https_url + "/healthz", timeout=5).status_code == 200
    finally:
        for client in slow:
            client.close()
