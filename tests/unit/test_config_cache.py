"""The config cache every function reads through: lookups, versions, events, staleness, fallback, threads.

Runs on the session's moto server with tables of its own per test; time is a fake clock so staleness is exact.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from chatwoot_ai.config import ConfigCache
from chatwoot_ai.config.crypto import CredentialsCipher
from chatwoot_ai.config.events import config_detail, mapping_detail
from chatwoot_ai.config.fallback import FileFallback
from chatwoot_ai.config.service import ConfigService
from chatwoot_ai.config.tables import ConfigStore, MappingStore
from chatwoot_ai.models import Mapping

STALENESS = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Outage:
    """A DynamoDB client that fails every call while `down` is set (the network or the service is gone)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.down = False
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.down:
                raise EndpointConnectionError(endpoint_url="http://dynamodb.down")
            return target(*args, **kwargs)

        return call


@dataclass
class World:
    service: ConfigService
    dynamodb: Outage
    cipher: CredentialsCipher
    configs_table: str
    mappings_table: str
    clock: Clock
    fallback_dir: Path

    def cache(self, fallback: bool = True) -> ConfigCache:
        return ConfigCache(
            ConfigStore(self.dynamodb, self.configs_table, self.cipher),
            MappingStore(self.dynamodb, self.mappings_table),
            FileFallback(self.fallback_dir if fallback else None),
            max_staleness_s=STALENESS,
            clock=self.clock,
        )


def _table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])


@pytest.fixture
def world(moto_endpoint: str, tmp_path: Path) -> Iterator[World]:
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    suffix = uuid.uuid4().hex[:8]
    configs, mappings = f"configs-{suffix}", f"mappings-{suffix}"
    _table(client, configs)
    _table(client, mappings)
    cipher = CredentialsCipher(kms, kms.create_key()["KeyMetadata"]["KeyId"])
    service = ConfigService(client, ConfigStore(client, configs, cipher), MappingStore(client, mappings))
    yield World(service, Outage(client), cipher, configs, mappings, Clock(), tmp_path / "fallback")
    client.delete_table(TableName=configs)
    client.delete_table(TableName=mappings)


def config_doc(name: str) -> dict[str, Any]:
    return {"company": {"name": name}, "assistant": {"name": "Ana"}}


def event(detail: dict[str, Any]) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "source": "chatwoot-ai.config", "detail-type": "ConfigChanged",
            "detail": detail}


# ---------------------------------------------------------------- mapping

def test_resolve_prefers_the_inbox_entry_then_the_account_wide_one(world: World) -> None:
    world.service.put_mappings([
        Mapping(chatwoot_account_id=7, chatwoot_inbox_id=None, tenant_id="loja", domain="varejo"),
        Mapping(chatwoot_account_id=7, chatwoot_inbox_id=3, tenant_id="clinica", channel="whatsapp"),
    ], force=True)  # two tenants on one account: only an operator's deliberate choice (issue 16)
    cache = world.cache()
    assert cache.resolve(7, 3).tenant_id == "clinica"  # type: ignore[union-attr]
    account_wide = cache.resolve(7, 99)
    assert account_wide is not None and (account_wide.tenant_id, account_wide.domain) == ("loja", "varejo")
    assert cache.resolve(7, None).tenant_id == "loja"  # type: ignore[union-attr]
    assert cache.resolve(8, 3) is None


def test_an_unknown_inbox_is_remembered_briefly_then_looked_up_again(world: World) -> None:
    cache = world.cache()
    assert cache.resolve(41, 1) is None
    calls = world.dynamodb.calls
    for _ in range(100):
        assert cache.resolve(41, 1) is None
    assert world.dynamodb.calls == calls  # negative entry: no DynamoDB read per webhook

    world.service.put_mappings([Mapping(chatwoot_account_id=41, chatwoot_inbox_id=1, tenant_id="nova")])
    assert cache.resolve(41, 1) is None  # still within the negative TTL
    world.clock.advance(cache.negative_ttl_s + 0.01)
    assert cache.resolve(41, 1).tenant_id == "nova"  # type: ignore[union-attr]
    assert cache.negative_ttl_s <= STALENESS


# ---------------------------------------------------------------- documents, versions

def test_a_document_is_parsed_once_per_version_and_revalidated_by_version_number(world: World) -> None:
    world.service.put("loja", "default", "config", config_doc("Loja Um"))
    cache = world.cache()
    first = cache.config("loja")
    assert first is not None and first.company.name == "Loja Um"
    assert cache.config("loja") is first  # a hit returns the very same parsed object

    world.clock.advance(STALENESS + 0.1)  # stale: revalidate; the version did not change
    assert cache.config("loja") is first
    assert cache.stats["revalidations"] == 1 and cache.stats["loads"] == 1

    world.service.put("loja", "default", "config", config_doc("Loja Dois"))
    world.clock.advance(STALENESS + 0.1)
    second = cache.config("loja")
    assert second is not first and second is not None and second.company.name == "Loja Dois"
    assert cache.version("loja", "default", "config") == 2


def test_domains_are_separate_documents(world: World) -> None:
    world.service.put("loja", "default", "config", config_doc("Loja"))
    world.service.put("loja", "atacado", "config", config_doc("Loja Atacado"))
    cache = world.cache()
    assert cache.config("loja").company.name == "Loja"  # type: ignore[union-attr]
    assert cache.config("loja", "atacado").company.name == "Loja Atacado"  # type: ignore[union-attr]
    assert cache.config("loja", "outro") is None


def test_credentials_come_decrypted_as_secret_strings_and_are_encrypted_at_rest(world: World) -> None:
    world.service.put("loja", "default", "credentials",
                      {"chatwoot_webhook_secret": "segredo-do-webhook-123", "custom_token": "tok-999-abc"})
    credentials = world.cache().credentials("loja")
    assert credentials is not None and credentials.chatwoot_webhook_secret is not None
    assert credentials.chatwoot_webhook_secret.get_secret_value() == "segredo-do-webhook-123"
    assert "segredo-do-webhook-123" not in repr(credentials)
    assert "tok-999-abc" not in repr(credentials) and "tok-999-abc" not in str(credentials.model_dump())
    assert credentials.custom_token.get_secret_value() == "tok-999-abc"  # type: ignore[attr-defined]

    raw = world.dynamodb.client.scan(TableName=world.configs_table)["Items"]
    assert len(raw) == 2 and all("secret" in item and "data" not in item for item in raw)
    assert all(b"segredo" not in item["secret"]["B"] for item in raw)


def test_other_document_types_are_plain_dicts(world: World) -> None:
    world.service.put("loja", "default", "whatsapp", {"max_length": 600, "signature": "— Loja"})
    assert world.cache().document("loja", "default", "whatsapp") == {"max_length": 600, "signature": "— Loja"}


# ---------------------------------------------------------------- events and convergence

def test_two_warm_instances_converge_the_one_with_the_event_at_once(world: World) -> None:
    world.service.put("loja", "default", "config", config_doc("Antes"))
    with_event, without_event = world.cache(), world.cache()
    assert with_event.config("loja").company.name == "Antes"  # type: ignore[union-attr]
    assert without_event.config("loja").company.name == "Antes"  # type: ignore[union-attr]

    stored = world.service.put("loja", "default", "config", config_doc("Depois"))
    assert with_event.handle_event(event(config_detail("loja", "default", "config", stored["version"])))
    assert with_event.config("loja").company.name == "Depois"  # type: ignore[union-attr]

    world.clock.advance(STALENESS - 0.5)
    assert without_event.config("loja").company.name == "Antes"  # type: ignore[union-attr]  # within the bound
    world.clock.advance(0.6)
    assert without_event.config("loja").company.name == "Depois"  # type: ignore[union-attr]


def test_a_mapping_event_refreshes_that_account(world: World) -> None:
    world.service.put_mappings([Mapping(chatwoot_account_id=5, chatwoot_inbox_id=2, tenant_id="velha")])
    cache = world.cache()
    assert cache.resolve(5, 2).tenant_id == "velha"  # type: ignore[union-attr]
    world.service.put_mappings([Mapping(chatwoot_account_id=5, chatwoot_inbox_id=2, tenant_id="nova")], force=True)
    assert cache.handle_event(event(mapping_detail(5, 2)))
    assert cache.resolve(5, 2).tenant_id == "nova"  # type: ignore[union-attr]

    world.service.delete_mapping(5, 2)
    cache.handle_event(event(mapping_detail(5, 2)))
    assert cache.resolve(5, 2) is None


def test_an_event_for_an_older_version_or_another_shape_changes_nothing(world: World) -> None:
    world.service.put("loja", "default", "config", config_doc("Um"))
    cache = world.cache()
    cache.config("loja")
    calls = world.dynamodb.calls
    assert cache.handle_event(event(config_detail("loja", "default", "config", 1)))
    assert cache.handle_event(event(config_detail("ninguem", "default", "config", 3)))  # not held here
    assert world.dynamodb.calls == calls
    assert not cache.handle_event({"Records": []})
    assert not cache.handle_event({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
    assert cache.handle_event(event({"kind": "config"}))  # malformed detail: recognised, ignored


# ---------------------------------------------------------------- DynamoDB down

def test_dynamodb_down_serves_the_last_known_value_then_the_new_one_when_it_is_back(world: World) -> None:
    world.service.put("loja", "default", "config", config_doc("Conhecida"))
    world.service.put_mappings([Mapping(chatwoot_account_id=9, chatwoot_inbox_id=1, tenant_id="loja")])
    cache = world.cache()
    assert cache.config("loja").company.name == "Conhecida"  # type: ignore[union-attr]
    assert cache.resolve(9, 1) is not None

    world.service.put("loja", "default", "config", config_doc("Nova"))
    world.dynamodb.down = True
    world.clock.advance(STALENESS + 1)
    assert cache.config("loja").company.name == "Conhecida"  # type: ignore[union-attr]
    assert cache.resolve(9, 1).tenant_id == "loja"  # type: ignore[union-attr]
    event_during_outage = event(config_detail("loja", "default", "config", 2))
    assert cache.handle_event(event_during_outage)  # the refetch fails: keep serving, no exception
    assert cache.config("loja").company.name == "Conhecida"  # type: ignore[union-attr]

    world.dynamodb.down = False
    world.clock.advance(cache.retry_after_s + 0.01)
    assert cache.config("loja").company.name == "Nova"  # type: ignore[union-attr]


def test_with_nothing_known_and_dynamodb_down_the_fallback_files_answer(world: World) -> None:
    folder = world.fallback_dir / "loja" / "default"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("company:\n  name: Loja do Arquivo\nassistant:\n  name: Bia\n",
                                        encoding="utf-8")
    (folder / "credentials.json").write_text('{"chatwoot_webhook_secret": "do-arquivo-1234"}', encoding="utf-8")
    (world.fallback_dir / "mapping.yaml").write_text(
        "mappings:\n  - {chatwoot_account_id: 12, chatwoot_inbox_id: null, tenant_id: loja}\n", encoding="utf-8")
    world.service.put("loja", "default", "config", config_doc("Loja do DynamoDB"))

    world.dynamodb.down = True
    cache = world.cache()
    assert cache.config("loja").assistant.name == "Bia"  # type: ignore[union-attr]
    secret = cache.credentials("loja").chatwoot_webhook_secret  # type: ignore[union-attr]
    assert secret is not None and secret.get_secret_value() == "do-arquivo-1234"
    assert cache.resolve(12, 4).tenant_id == "loja"  # type: ignore[union-attr]
    assert cache.config("sem-arquivo") is None
    assert cache.stats["fallbacks"] >= 3

    world.dynamodb.down = False  # back: DynamoDB wins again once the short retry delay has passed
    world.clock.advance(cache.retry_after_s + 0.01)
    assert cache.config("loja").company.name == "Loja do DynamoDB"  # type: ignore[union-attr]


def test_an_invalid_fallback_file_is_not_served(world: World) -> None:
    folder = world.fallback_dir / "loja" / "default"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"company": {"name": ""}}', encoding="utf-8")
    world.dynamodb.down = True
    assert world.cache().config("loja") is None
    assert world.cache().config("../../etc") is None  # never reads outside the folder


# ---------------------------------------------------------------- threads

def test_many_threads_on_a_cold_key_cause_one_load_and_all_see_the_same_object(world: World) -> None:
    world.service.put("loja", "default", "config", config_doc("Concorrida"))
    cache = world.cache()
    seen: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def worker() -> None:
        try:
            start.wait()
            for _ in range(50):
                seen.append(cache.config("loja"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(seen) == 800 and len({id(value) for value in seen}) == 1
    assert cache.stats["loads"] == 1


def test_a_snapshot_of_dynamodb_is_what_the_cache_falls_back_to(world: World) -> None:
    from chatwoot_ai.config.snapshot import write_snapshot

    world.service.put("loja", "varejo", "config", config_doc("Loja Copiada"))
    world.service.put("loja", "varejo", "credentials", {"odoo_api_key": "odoo-key-copiada-4321"})
    world.service.put_mappings([Mapping(chatwoot_account_id=33, chatwoot_inbox_id=None, tenant_id="loja",
                                        domain="varejo")])
    source = world.cache()
    assert write_snapshot(source.configs, source.mappings, world.fallback_dir) == 3
    assert (world.fallback_dir / "loja" / "varejo" / "credentials.json").stat().st_mode & 0o077 == 0

    world.dynamodb.down = True
    cache = world.cache()
    mapping = cache.resolve(33, 1)
    assert mapping is not None and (mapping.tenant_id, mapping.domain) == ("loja", "varejo")
    assert cache.config("loja", "varejo").company.name == "Loja Copiada"  # type: ignore[union-attr]
    key = cache.credentials("loja", "varejo").odoo_api_key  # type: ignore[union-attr]
    assert key is not None and key.get_secret_value() == "odoo-key-copiada-4321"


def test_the_table_itself_refuses_the_second_of_two_writes_prepared_on_the_same_version(world: World) -> None:
    """What makes If-Match safe across Lambda instances: the head's condition, not the in-process write lock."""
    from botocore.exceptions import ClientError

    service = world.service
    service.put("loja", "default", "config", config_doc("Base"))
    first, _ = service.prepare("loja", "default", "config", config_doc("Primeiro"), if_match=1)
    second, _ = service.prepare("loja", "default", "config", config_doc("Segundo"), if_match=1)
    service.client.transact_write_items(TransactItems=first)
    with pytest.raises(ClientError) as caught:
        service.client.transact_write_items(TransactItems=second)
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert service.get("loja", "default", "config")["data"]["company"]["name"] == "Primeiro"
    assert [v["version"] for v in service.versions("loja", "default", "config")["versions"]] == [2, 1]
