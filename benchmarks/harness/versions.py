"""The exact versions and machine that a run measured, for the report."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

PACKAGES = [
    "Django",
    "django-jimmypage",
    "redis",
    "hiredis",
    "django-cacheops",
    "django-cachalot",
    "psycopg",
    "gunicorn",
    "pyinstrument",
    "matplotlib",
]


def _run(command: list[str], cwd: str | None = None) -> str:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, cwd=cwd, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def os_name() -> str:
    try:
        with open("/etc/os-release") as handle:
            for line in handle:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def collect(repo: str) -> dict:
    from .database import postgres_version, redis_client

    packages = {name: metadata.version(name) for name in PACKAGES}
    commit = _run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo)
    dirty = _run(["git", "status", "--porcelain", "--", "src"], cwd=repo)
    wrk_line = _run(["wrk", "-v"]).splitlines()
    return {
        "python": platform.python_version(),
        "packages": packages,
        "jimmypage_commit": commit + (" with uncommitted changes in src/" if dirty else ""),
        "redis_server": redis_client().info("server")["redis_version"],
        "postgresql": postgres_version(),
        "wrk": wrk_line[0].split(" [")[0] if wrk_line else "unknown",
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "os": os_name(),
        "kernel": platform.release(),
    }
