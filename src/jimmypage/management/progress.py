"""A progress bar for ``manage.py jimmypage warm`` on a terminal."""

from __future__ import annotations

import shutil


class Progress:
    """A progress bar on the last line of a terminal, with result lines printed above it."""

    def __init__(self, out, total: int) -> None:
        self.out = out
        self.total = total
        self.done = 0
        self.columns = shutil.get_terminal_size((80, 24)).columns

    def bar(self, label: str) -> str:
        width = 30
        filled = width * self.done // self.total
        text = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {label}"
        return text[: self.columns - 1]

    def show(self, url: str) -> None:
        self.out.write("\r\033[K" + self.bar(url), ending="")
        self.out.flush()

    def advance(self, line: str, style=None) -> None:
        self.done += 1
        self.out.write("\r\033[K", ending="")
        self.out.write(line, style)
        self.out.write(self.bar(""), ending="")
        self.out.flush()

    def close(self) -> None:
        self.out.write("\r\033[K", ending="")
        self.out.flush()
