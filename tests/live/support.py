"""What the live tests share besides their fixtures: names, and a GET counted in bytes."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

STATUS = "X-Jimmy-Page"
HOST = "example.com"
PAGE = "/counted/"


def raw_get(url: str, path: str, **headers: str) -> tuple[bytes, bytes]:
    """The bytes of one GET on the wire, split into the head and the body."""
    parts = urlsplit(url)
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", body
