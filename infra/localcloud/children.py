"""The runner's helper processes (moto's, the embedded Qdrant's): each announces itself with one line on stdout once
it listens, and ends at its stdin's EOF, which its parent's end (even a `kill -9`) also gives it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading


def announcement(process: subprocess.Popen[bytes] | subprocess.Popen[str], timeout_s: float) -> str | None:
    """The first line `process` writes on stdout, or None when none comes within `timeout_s` (or it exits first);
    its stdout is closed once the line is read (the child writes nothing else there)."""
    assert process.stdout is not None
    stdout = process.stdout
    line: list[str | bytes] = []
    reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not line or not line[0].strip():
        return None
    stdout.close()
    text = line[0]
    return (text.decode() if isinstance(text, bytes) else text).strip()


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str], timeout_s: float) -> None:
    """Closes its stdin (it ends on its own, tidily) and waits; kills it if it has not ended in `timeout_s`."""
    if process.stdin is not None and not process.stdin.closed:
        process.stdin.close()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---------------------------------------------------------------- in the helper process
def announce(line: str) -> None:
    """Writes the one line the parent waits for; anything printed later goes to stderr (the parent stops reading)."""
    print(line, flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def until_parent_gone() -> None:
    """Returns at stdin's EOF: a pipe only the parent holds, closed by its `stop` or by its death."""
    while sys.stdin.buffer.read(65536):
        pass
