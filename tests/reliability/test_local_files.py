"""The local stack's files are its owner's only (issue 16, finding 9).

On main, `.local/` stayed 0755, the embedded Qdrant's files (the tenants' texts) were 0644 and the demo credentials
file was written with the default mode and chmod-ed afterwards (readable by others for an instant). Now the data
folder is 0700 (also one an earlier version made 0755), secret files are created 0600 (os.open with the mode), and
`python -m localcloud run|invoke` work under umask 077, so Qdrant's and the logs' files are 0600 too.

`python -m localcloud run` in a process of its own with a developer's umask (022) on a fresh folder, the demo tenant
seeded (its corpus embedded into Qdrant).
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from e2e.conftest import Stack


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow  # a stack of its own, demo corpus embedded: 1-4 min here
def test_the_data_folder_secrets_and_qdrant_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "projeto" / ".local"
    data.mkdir(parents=True, mode=0o755)
    data.chmod(0o755)  # as an earlier version left it
    previous = os.umask(0o022)  # a developer's shell
    try:
        stack = Stack(data)
    finally:
        os.umask(previous)
    try:
        stack.wait_ready()
        deadline = time.monotonic() + 30
        while not list((data / "state").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.5)  # the first snapshot comes within LOCALCLOUD_SNAPSHOT_S
        assert mode(data) == 0o700, oct(mode(data))
        for secret in ("demo-credentials.json", "admin-key", "run.json"):
            assert mode(data / secret) == 0o600, (secret, oct(mode(data / secret)))
        qdrant_files = [p for p in (data / "qdrant").rglob("*")]
        assert any(p.is_file() for p in qdrant_files), "the demo corpus was not embedded"
        for folder in ("qdrant", "state", "logs"):
            for path in [data / folder, *(data / folder).rglob("*")]:
                assert mode(path) & 0o077 == 0, (str(path.relative_to(data)), oct(mode(path)))
    finally:
        status, output = stack.stop()
    assert status == 0, output[-2000:]
