"""Call the project's WSGI handler in-process, as a server would, without a socket.

Every request goes through the whole middleware stack; the response is read and closed (which
sends ``request_finished``), exactly as gunicorn does.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass

BASE_ENVIRON = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "QUERY_STRING": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "127.0.0.1",
    "HTTP_USER_AGENT": "jimmypage-bench",
    "HTTP_ACCEPT": "text/html",
    "REMOTE_ADDR": "127.0.0.1",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
}


@dataclass
class Answer:
    status: str
    headers: dict[str, str]
    body: bytes


class Client:
    """A tiny in-process WSGI client for GET requests on one handler."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()

    def get(self, path: str, cookie: str | None = None) -> Answer:
        environ = dict(BASE_ENVIRON, PATH_INFO=path)
        if cookie:
            environ["HTTP_COOKIE"] = cookie
        environ["wsgi.input"] = io.BytesIO(b"")
        started: list = []

        def start_response(status, headers, exc_info=None):
            started.append((status, headers))

        result = self.handler(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()
        status, headers = started[0]
        return Answer(status, dict(headers), body)


JIMMYPAGE_HEADER = "X-Jimmy-Page"


def warm(client: Client, path: str, attempts: int = 20, cookie: str | None = None) -> Answer:
    """Request ``path`` until it answers from a warm cache (jimmypage says ``hit``)."""
    from jimmypage.executors import wait_for_refreshes

    answer = client.get(path, cookie)
    for _ in range(attempts):
        wait_for_refreshes(10)
        answer = client.get(path, cookie)
        if answer.headers.get(JIMMYPAGE_HEADER, "hit") == "hit":
            return answer
    raise RuntimeError(f"{path} never answered a warm hit: {answer.headers}")
