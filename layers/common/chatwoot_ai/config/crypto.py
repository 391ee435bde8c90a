"""Credentials at rest: the whole document is one KMS ciphertext, bound to its tenant, domain and type by the
encryption context (a ciphertext copied onto another tenant's item does not decrypt)."""

from __future__ import annotations

import json
from typing import Any

# KMS Encrypt takes at most 4 KB of plaintext; a credentials document is a handful of tokens.
MAX_PLAINTEXT_BYTES = 4096


class CredentialsCipher:
    def __init__(self, kms: Any, key_id: str) -> None:
        self.kms = kms
        self.key_id = key_id

    @staticmethod
    def context(tenant_id: str, domain: str, config_type: str) -> dict[str, str]:
        return {"tenant_id": tenant_id, "domain": domain, "config_type": config_type}

    def encrypt(self, data: dict[str, Any], tenant_id: str, domain: str, config_type: str) -> bytes:
        plaintext = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
        if len(plaintext) > MAX_PLAINTEXT_BYTES:
            raise ValueError(f"a {config_type} document may hold at most {MAX_PLAINTEXT_BYTES} bytes")
        response = self.kms.encrypt(KeyId=self.key_id, Plaintext=plaintext,
                                    EncryptionContext=self.context(tenant_id, domain, config_type))
        return bytes(response["CiphertextBlob"])

    def decrypt(self, blob: bytes, tenant_id: str, domain: str, config_type: str) -> dict[str, Any]:
        response = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=self.context(tenant_id, domain, config_type))
        data = json.loads(response["Plaintext"])
        if not isinstance(data, dict):
            raise ValueError("decrypted credentials are not an object")
        return data
