"""Fixtures shared by every test: one emulated cloud (moto server) and one local stack per session, on free ports.

Tests share the stack; each test uses its own tenant ids (`tenant_id` fixture) so they never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.doubles import ChatwootStub, LlmStub
from devtools.offline_env import set_offline_defaults

ROOT = Path(__file__).resolve().parents[1]
# A copy of ../shared/fixtures, kept in the repo so a clone tests the same data wherever it runs.
FIXTURES = ROOT / "tests" / "fixtures"

set_offline_defaults(log_level="WARNING")

ADMIN_KEY = "test-admin-key-0123456789abcdef"


@pytest.fixture(scope="module")
def llm() -> Iterator[LlmStub]:
    """An OpenAI-compatible LLM stub for a test module (reset it in the test's own fixture)."""
    with LlmStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def chatwoot() -> Iterator[ChatwootStub]:
    """A Chatwoot stub for a test module."""
    with ChatwootStub() as stub:
        yield stub


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from localcloud.cloud import start_moto

    server, url = start_moto()
    os.environ["AWS_ENDPOINT_URL"] = url
    yield url
    server.stop()


@pytest.fixture(scope="session")
def cloud(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The whole stack of infra/template.yaml: provisioned, served over HTTP, event sources running."""
    from localcloud.cloud import LocalCloud

    data_dir = tmp_path_factory.mktemp("localcloud")
    stack = LocalCloud(endpoint_url=moto_endpoint, admin_key=ADMIN_KEY, data_dir=data_dir,
                       stack_name="test-" + uuid.uuid4().hex[:6])
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"X-Api-Key": ADMIN_KEY}


@pytest.fixture
def tenant_id() -> str:
    """A tenant id no other test uses."""
    return "t_" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES
