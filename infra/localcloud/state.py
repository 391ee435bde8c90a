"""Where the local stack keeps what outlives a process: the `.local/` folder (`--data-dir`, `LOCALCLOUD_DATA_DIR`).

    .local/
      admin-key               the admin key `make run` generated (unless ADMIN_API_KEY is set), 0600
      state/<stack>.json      the emulated cloud's data: DynamoDB items, queued SQS messages, the KMS key (persist.py)
      qdrant/                 the embedded Qdrant: the vectors, written through as they change
      logs/<function>.log     each function's JSON log lines (`make run`)
      run.json                while `make run` runs: pid, URL, emulated AWS endpoint, the demo tenant (0600)
      demo-credentials.json   the demo tenant's secrets
      demo-conversation       the last conversation `scripts/demo_message.py` used
      fallback/               CONFIG_FALLBACK_DIR: config files you put there

`make reset` (`python -m localcloud reset`) deletes the folder; the next `make run` starts empty.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # not localcloud.template's: `make reset` runs without the venv


def default_data_dir() -> Path:
    return Path(os.environ.get("LOCALCLOUD_DATA_DIR") or ROOT / ".local")


PRIVATE_UMASK = 0o077  # `run` and `invoke`: what they create (Qdrant's files, logs, state) is the owner's only


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter (0700), also when an earlier version made it 0755: it holds
    tenants' texts (Qdrant, logs) and secrets. Issue 16, finding 9."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Written atomically, and 0600 from its creation (never readable by others, even for an instant)."""
    private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(path)


def _alive(pid: int) -> bool:
    """The pid runs, and is a localcloud process where /proc tells (a pid reused after a kill -9 is not ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return b"localcloud" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


class DataDir:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else default_data_dir()

    def snapshot_file(self, stack_name: str) -> Path:
        return self.root / "state" / f"{stack_name}.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run_file(self) -> Path:
        return self.root / "run.json"

    def admin_key(self) -> str:
        """ADMIN_API_KEY when set; else the key kept from an earlier start, or a new one kept for the next."""
        if os.environ.get("ADMIN_API_KEY"):
            return os.environ["ADMIN_API_KEY"]
        path = self.root / "admin-key"
        if path.is_file():
            kept = path.read_text(encoding="utf-8").strip()
            if len(kept) >= 16:  # the template's MinLength
                return kept
        key = secrets.token_urlsafe(24)
        write_private(path, key + "\n")
        return key

    # ---------------------------------------------------------------- the running stack
    def write_run(self, info: dict[str, Any]) -> None:
        write_private(self.run_file, json.dumps({"pid": os.getpid(), **info}, indent=2) + "\n")

    def running(self) -> dict[str, Any] | None:
        """run.json of a live `make run` on this folder, else None (a file left by a killed run is ignored)."""
        try:
            info: dict[str, Any] = json.loads(self.run_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return info if isinstance(info.get("pid"), int) and _alive(info["pid"]) else None

    def clear_run(self) -> None:
        info = self.running()
        if info is None or info.get("pid") == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                self.run_file.unlink()

    def reset(self) -> list[str]:
        """Deletes everything in the folder; refuses while a stack runs on it. Returns what was removed."""
        running = self.running()
        if running is not None:
            raise RuntimeError(f"a stack is running on {self.root} (pid {running['pid']}, {running.get('url')}): "
                               "stop it first")
        removed = sorted(p.name for p in self.root.iterdir()) if self.root.is_dir() else []
        shutil.rmtree(self.root, ignore_errors=True)
        return removed
