"""Where `make run` puts the functions' output: each function's lines in `.local/logs/<LogicalId>.log`, and in the
terminal only what a person reads there — warnings and errors as one plain line each, naming the function.
`LOG_FORMAT=json` echoes every JSON line to the terminal as well (the way CloudWatch Logs would show them).

A line that is a JSON object without `function_name` (logged outside `inject_lambda_context`) gets the function's
logical id, so every JSON line names the function that wrote it.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import IO, Any

LOUD_LEVELS = {"WARNING", "ERROR", "CRITICAL"}


def named(function: str, line: str) -> tuple[str, dict[str, Any] | None]:
    """The line with `function_name` filled in when it is a JSON object, and that object (None otherwise)."""
    if not line.startswith("{"):
        return line, None
    try:
        record = json.loads(line)
    except ValueError:
        return line, None
    if not isinstance(record, dict):
        return line, None
    if record.get("function_name"):
        return line, record
    record = {**record, "function_name": function}
    return json.dumps(record, ensure_ascii=False), record


def plain(function: str, record: dict[str, Any]) -> str:
    level = str(record.get("level", "INFO")).upper()
    message = record.get("message")
    text = message if isinstance(message, str) else json.dumps(message, ensure_ascii=False)
    extra = record.get("exception_name") or ""
    return f"[{function}] {level}: {text}" + (f" ({extra})" if extra else "")


class LogRouter:
    """A `LocalCloud.log_listeners` entry: (function logical id, line) -> file, and maybe the terminal."""

    def __init__(self, directory: Path, log_format: str = "plain", terminal: IO[str] | None = None) -> None:
        self.directory = directory
        self.echo_json = log_format.lower() == "json"
        self.terminal = terminal or sys.stdout
        self._files: dict[str, IO[str]] = {}
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, function: str) -> Path:
        return self.directory / f"{function}.log"

    def __call__(self, function: str, line: str) -> None:
        text, record = named(function, line)
        with self._lock:
            handle = self._files.get(function)
            if handle is None:
                handle = self._files[function] = self.path(function).open("a", encoding="utf-8", buffering=1)
            handle.write(text + "\n")
            if self.echo_json:
                self.terminal.write(text + "\n")
            elif record is not None and str(record.get("level", "")).upper() in LOUD_LEVELS:
                self.terminal.write(plain(function, record) + "\n")
            else:
                return
            self.terminal.flush()

    def close(self) -> None:
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()
