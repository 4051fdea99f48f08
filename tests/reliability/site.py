"""A real site for the load and fault tests: gunicorn serving ``tests.testapp.reliability_views``
on a private PostgreSQL database (reached through a proxy a test may cut) and a private
redis-server (which a test may stop and start).

``LiveSite`` starts everything and stops it all, and drops the database, whatever happens.
``Sampler`` watches the gunicorn processes (threads, RSS) and the database's open connections.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .servers import PrivateDatabase, PrivateRedis, TcpProxy, free_port, reachable

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "tests.reliability.site_settings"


class LiveSite:
    def __init__(self, workers: int = 2, threads: int = 4, refresh_threads: int = 2,
                 redis_timeout: float = 0.5) -> None:  # fmt: skip
        self.workers = workers
        self.threads = threads
        self.refresh_threads = refresh_threads
        self.redis_timeout = redis_timeout
        self.redis = PrivateRedis()
        self.database = PrivateDatabase()
        self.db_proxy: TcpProxy | None = None
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix="jimmypage-site-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "JP_SITE_DB_NAME": self.database.name,
            "JP_SITE_DB_PORT": str(self.db_proxy.port),
            "JP_SITE_REDIS_URL": self.redis.url,
            "JP_SITE_REDIS_TIMEOUT": str(self.redis_timeout),
            "JP_SITE_REFRESH_THREADS": str(self.refresh_threads),
        }

    def start(self) -> LiveSite:
        self.redis.start()
        self.database.create()
        self.db_proxy = TcpProxy(5432).start()
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "-v", "0"],
            env=self.env(), cwd=ROOT, check=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "tests.reliability.site", "seed"],
            env=self.env(), cwd=ROOT, check=True, timeout=60,
        )  # fmt: skip
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "tests.reliability.site_wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(self.workers),
                    "--worker-class",
                    "gthread",
                    "--threads",
                    str(self.threads),
                    "--timeout",
                    "60",
                    "--graceful-timeout",
                    "5",
                    "--keep-alive",
                    "5",
                    "--log-level",
                    "warning",
                ],  # fmt: skip
                env=self.env(),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while not reachable("127.0.0.1", self.port, 0.2) or len(self.worker_pids()) < self.workers:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{self.tail()}")
            time.sleep(0.1)
        return self

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)  # the group we started, only
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None
        if self.db_proxy is not None:
            self.db_proxy.close()
        self.redis.close()
        self.database.drop()

    def __enter__(self) -> LiveSite:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            self.log.unlink()


def _status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


class Sampler:
    """Samples every ``interval`` s: threads and RSS of each gunicorn worker, the database's
    open connections; keeps the maxima (and the RSS of each worker over time)."""

    def __init__(self, site: LiveSite, interval: float = 0.25) -> None:
        self.site = site
        self.interval = interval
        self.max_threads = 0
        self.max_rss_mb = 0.0
        self.max_db_connections = 0
        self.rss_series: list[tuple[float, float]] = []  # (seconds, MB summed over workers)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        total_rss = 0.0
        for pid in self.site.worker_pids():
            status = _status(pid)
            if not status:
                continue
            self.max_threads = max(self.max_threads, int(status.get("Threads", "0")))
            rss = int(status.get("VmRSS", "0 kB").split()[0]) / 1024
            self.max_rss_mb = max(self.max_rss_mb, rss)
            total_rss += rss
        self.rss_series.append((time.monotonic() - self._started, total_rss))
        with contextlib.suppress(Exception):
            self.max_db_connections = max(self.max_db_connections, self.site.database.connections())
        self.samples += 1

    def rss_growth_mb(self) -> float:
        """RSS (all workers) at the end less RSS at the middle of the run: growth once warm."""
        if len(self.rss_series) < 4:
            return 0.0
        middle = self.rss_series[len(self.rss_series) // 2][1]
        return round(self.rss_series[-1][1] - middle, 1)


def seed() -> None:
    """Data of the site: authors and articles (run with the site's settings)."""
    import django

    django.setup()
    from tests.testapp.models import Article, Author

    ada = Author.objects.create(name="ada")
    for index in range(5):
        Article.objects.create(title=f"seed{index}", author=ada)


if __name__ == "__main__":
    if sys.argv[1:] == ["seed"]:
        seed()
