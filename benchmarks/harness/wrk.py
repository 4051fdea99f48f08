"""Run wrk against 127.0.0.1 and read its summary: requests/s, latency percentiles, errors."""

from __future__ import annotations

import re
import subprocess
from dataclasses import asdict, dataclass

THREADS = 1
CONNECTIONS = 16
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


@dataclass
class WrkResult:
    requests: int
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int  # socket errors and non-2xx/3xx responses

    def as_dict(self) -> dict:
        return asdict(self)


def to_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()
    return float(number) * UNITS[unit]


def parse(output: str) -> WrkResult:
    def percentile(label: str) -> float:
        return to_ms(re.search(rf"^\s+{label}%\s+(\S+)", output, re.M).group(1))

    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(re.search(r"(\d+) requests in", output).group(1)),
        requests_per_s=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=percentile("50"),
        p90_ms=percentile("90"),
        p99_ms=percentile("99"),
        errors=errors + (int(non_2xx.group(1)) if non_2xx else 0),
    )


def command(
    url: str,
    seconds: float,
    threads: int = THREADS,
    connections: int = CONNECTIONS,
    script: str | None = None,
) -> list[str]:
    """wrk's command line; ``script``: a Lua file (section 7 gives each thread a cookie)."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("wrk only ever targets 127.0.0.1")
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        *(["--script", script] if script else []),
        url,
    ]


def start(url: str, seconds: float, **options) -> subprocess.Popen:
    return subprocess.Popen(
        command(url, seconds, **options),
        stdout=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def finish(process: subprocess.Popen, seconds: float) -> WrkResult:
    output, _ = process.communicate(timeout=seconds + 30)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {output}")
    return parse(output)


def run(url: str, seconds: float, **options) -> WrkResult:
    return finish(start(url, seconds, **options), seconds)
