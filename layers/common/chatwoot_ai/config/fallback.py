"""Local fallback files, read only when DynamoDB cannot answer and nothing is known in memory.

Layout under CONFIG_FALLBACK_DIR (docs/config.md):

    mapping.json | mapping.yaml                 {"mappings": [{"chatwoot_account_id", "chatwoot_inbox_id", ...}]}
    <tenant_id>/<domain>/<config_type>.json     the document itself (the `data` of a GET), e.g. config.yaml,
    <tenant_id>/<domain>/<config_type>.yaml     credentials.yaml (secrets in clear: protect the folder)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chatwoot_ai.models import Mapping, check_identifier
from chatwoot_ai.observability import logger

SUFFIXES = (".json", ".yaml", ".yml")


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    import yaml  # only when a YAML fallback file is actually read

    return yaml.safe_load(text)


class FileFallback:
    def __init__(self, root: str | Path | None) -> None:
        self.root = Path(root) if root else None

    def _find(self, *parts: str) -> Path | None:
        if self.root is None:
            return None
        base = self.root.joinpath(*parts)
        for suffix in SUFFIXES:
            path = base.with_name(base.name + suffix)
            if path.is_file():
                return path
        return None

    def document(self, tenant_id: str, domain: str, config_type: str) -> dict[str, Any] | None:
        try:
            for value, name in ((tenant_id, "tenant_id"), (domain, "domain"), (config_type, "config_type")):
                check_identifier(value, name)  # never read outside the folder
        except ValueError:
            return None
        path = self._find(tenant_id, domain, config_type)
        if path is None:
            return None
        try:
            data = _load(path)
        except Exception:
            logger.exception("fallback file unreadable", extra={"path": str(path)})
            return None
        if not isinstance(data, dict):
            logger.error("fallback file is not an object", extra={"path": str(path)})
            return None
        return data

    def domains(self, tenant_id: str) -> list[str]:
        """The domain folders of this tenant, sorted."""
        try:
            check_identifier(tenant_id, "tenant_id")
        except ValueError:
            return []
        folder = self.root / tenant_id if self.root is not None else None
        if folder is None or not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir())

    def mappings(self) -> list[Mapping]:
        path = self._find("mapping")
        if path is None:
            return []
        try:
            data = _load(path)
            entries = data.get("mappings", []) if isinstance(data, dict) else data
            return [Mapping.model_validate(entry) for entry in entries or []]
        except Exception:
            logger.exception("fallback mapping file unusable", extra={"path": str(path)})
            return []
