"""Smoke test of the demo site, run by ``./demo --check`` once the database is set up.

Starts the site on a free port (or on $PORT), fetches ``/`` twice and checks that the second
response is a jimmypage cache hit, then stops the site. Exits non-zero with a message if not.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MANAGE = Path(__file__).resolve().parent / "manage.py"
STARTUP_SECONDS = 60
# Talk to the local server directly, whatever *_proxy variables say.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url, timeout=30):
    """Return the X-Jimmy-Page header and the body of the page at ``url``."""
    with OPENER.open(url, timeout=timeout) as response:
        return response.headers.get("X-Jimmy-Page"), response.read().decode()


def wait_until_up(server, base):
    """Wait for the server to answer, on a page that is not cached."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            get(base + "/accounts/login/", timeout=5)
            return
        except OSError:
            if server.poll() is not None:
                raise RuntimeError("the server stopped during start-up") from None
            if time.monotonic() > deadline:
                message = f"the server did not answer within {STARTUP_SECONDS} s"
                raise RuntimeError(message) from None
            time.sleep(0.3)


def check(base):
    """Fetch / twice; return an error message, or None if the second fetch was a hit."""
    first, _ = get(base + "/")
    second, body = get(base + "/")
    print(f"check: GET / -> X-Jimmy-Page: {first}; GET / again -> X-Jimmy-Page: {second}")
    if second != "hit":
        return f"expected X-Jimmy-Page: hit on the second request, got {second!r}"
    if "served from cache: hit" not in body:
        return "the page footer does not say 'served from cache: hit'"
    return None


def main():
    """Run the check; return the process exit status."""
    port = os.environ.get("PORT") or free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(
            [sys.executable, str(MANAGE), "runserver", "--noreload", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(server, base)
            error = check(base)
        except (OSError, RuntimeError) as exc:
            error = str(exc)
        finally:
            server.terminate()
            server.wait(timeout=30)
        if error is None:
            print("check: OK, the demo site serves cached pages.")
            return 0
        log.seek(0)
        print(f"check: FAILED: {error}\n--- server output ---\n{log.read()}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
