"""What keeps an example of a property test replayable: the same draws give the same run.

Hypothesis replays examples (to report a failure, and whenever a new example starts with the
choices of an earlier one) and requires the test to draw exactly as it did the first time; it
raises ``FlakyStrategyDefinition`` otherwise, and a failure that does not come back is reported
as flaky. So nothing an example does may depend on anything but its draws:

* no draw depends on what the run finds (the cache's keys, the database's rows, a status, which
  refreshes ran): an example draws first, then applies what it drew to what it finds
  (``choose``);
* generation tokens come from a counter that starts again with each example, so that key
  names, which hold tokens (a refresh lock's does), are the same in a replay;
* the refresh module's clock (its "tried this lock lately" memo) moves by ``STEP_SECONDS`` per
  step of the example, whatever the machine's load;
* what the process remembers between examples is forgotten when each starts (``start``);
* no refresh fails: a failed one keeps its lock for ``JIMMY_PAGE_REFRESH_RETRY_SECONDS`` of
  the cache's own (real) time, so the tests assert that none did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from hypothesis import strategies as st

from jimmypage import generations, refresh

from .support import reset_jimmypage_state

T = TypeVar("T")

# One step of an example (a request, a write, a run of refreshes) takes this long on the
# refresh module's clock: its 1 s "tried lately" memo spans ten steps.
STEP_SECONDS = 0.1

# Draws of an index into a list the run finds (rows, keys): shrinks towards the first.
INDEXES = st.integers(0, 255)


class Replay:
    """Deterministic tokens and clock for the examples of a property test (see the module)."""

    def __init__(self, monkeypatch) -> None:
        self.tokens = 0
        self.now = 0.0
        monkeypatch.setattr(generations, "new_token", self.new_token)
        monkeypatch.setattr(refresh, "time", self)  # refresh calls time.monotonic() only

    def new_token(self) -> str:
        """A token never given before in this example (as a random one would be)."""
        self.tokens += 1
        return f"{self.tokens:016x}"

    def monotonic(self) -> float:
        return self.now

    def tick(self) -> None:
        """One step of the example passed."""
        self.now += STEP_SECONDS

    def start(self) -> None:
        """The start of an example: an empty cache, no memory of earlier examples."""
        reset_jimmypage_state()
        self.tokens = 0
        self.now = 0.0


def choose(index: int, found: Sequence[T]) -> T | None:
    """The item of ``found`` a drawn ``index`` stands for, or ``None`` when there is none."""
    return found[index % len(found)] if found else None
