"""Writes the fallback folder from DynamoDB, so the files the cache falls back to are a recent copy, not a hand-kept
one: `python -m chatwoot_ai.config.snapshot DIR [--without-credentials]` (uses the same settings as the functions).

Credentials are written in clear unless left out: the folder is created private (0700, files 0600).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from chatwoot_ai.config.tables import SECRET_TYPES, ConfigStore, MappingStore


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)  # a reader never sees half a file


def write_snapshot(configs: ConfigStore, mappings: MappingStore, folder: str | Path,
                   with_credentials: bool = True) -> int:
    """Every document's latest version and the whole mapping, as fallback files; returns the number of files."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = 0
    for head in configs.heads():
        if head.config_type in SECRET_TYPES and not with_credentials:
            continue
        doc = configs.get(head.tenant_id, head.domain, head.config_type)
        if doc is None:
            continue
        _write(root / doc.tenant_id / doc.domain / f"{doc.config_type}.json", doc.data)
        written += 1
    _write(root / "mapping.json", {"mappings": [m.model_dump() for m in mappings.all()]})
    return written + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatwoot_ai.config.snapshot", description=__doc__)
    parser.add_argument("folder", nargs="?", help="default: CONFIG_FALLBACK_DIR")
    parser.add_argument("--without-credentials", action="store_true")
    args = parser.parse_args(argv)
    from chatwoot_ai.config import build_config_cache
    from chatwoot_ai.settings import get_settings

    folder = args.folder or get_settings().config_cache.fallback_dir
    if not folder:
        parser.error("give a folder or set CONFIG_FALLBACK_DIR")
    cache = build_config_cache()
    count = write_snapshot(cache.configs, cache.mappings, folder, with_credentials=not args.without_credentials)
    print(f"wrote {count} files to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
