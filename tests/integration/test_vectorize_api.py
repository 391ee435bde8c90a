"""The Vectorize API over HTTP on the local stack: Odoo's POST /vectorize -> SQS -> worker -> Qdrant -> /search.

Each test uses its own tenant, whose vectorize_token is stored through the Config API like an operator would."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import httpx
import pytest
from support.tenants import wait_job

pytestmark = pytest.mark.slow


@pytest.fixture
def tenant(cloud: Any, tenant_id: str, admin_headers: dict[str, str]) -> dict[str, Any]:
    """A tenant with a vectorize_token in its credentials; `headers` authenticate as it."""
    token = secrets.token_urlsafe(24)
    response = httpx.put(f"{cloud.url}/configs/{tenant_id}/default/credentials", headers=admin_headers,
                         json={"vectorize_token": token})
    assert response.status_code in (200, 201), response.text
    return {"id": tenant_id, "token": token, "headers": {"Authorization": f"Bearer {token}"}}


def _post(cloud: Any, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(cloud.url + path, json=body, headers=headers, timeout=60)


PRODUCTS = [
    {"id": 1, "text": "Gel de Limpeza Facial Pele Oleosa com chá verde e ácido salicílico. Preço: R$ 59,90.",
     "metadata": {"sku": "GEL-LIMP-001", "price": 59.9}},
    {"id": 10, "text": "Protetor Solar Facial FPS 50 com proteção UVA/UVB para uso diário. Preço: R$ 89,90.",
     "metadata": {"sku": "PROT-50-001", "price": 89.9}},
    {"id": 3, "text": "Sabonete Facial em Barra Pele Seca com manteiga de karité. Preço: R$ 39,90.",
     "metadata": {"sku": "SAB-LIMP-003", "price": 39.9}},
]


def _vectorize(cloud: Any, tenant: dict[str, Any], records: list[dict[str, Any]], collection: str = "products",
               **extra: Any) -> dict[str, Any]:
    response = _post(cloud, "/vectorize", {"tenant_id": tenant["id"], "collection": collection, "records": records,
                                           **extra}, tenant["headers"])
    assert response.status_code == 202, response.text
    return wait_job(cloud, response.json()["job_id"], tenant["headers"], timeout=120.0)


def _search_body(cloud: Any, tenant: dict[str, Any], query: str, collection: str = "products",
                 **extra: Any) -> dict[str, Any]:
    response = _post(cloud, "/search", {"tenant_id": tenant["id"], "collection": collection, "query": query,
                                        **extra}, tenant["headers"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def _search(cloud: Any, tenant: dict[str, Any], query: str, collection: str = "products", **extra: Any) -> list[Any]:
    """Every hit, relevant or not (these tests are about ranking and isolation; the gate has its own test)."""
    extra.setdefault("include_below_threshold", True)
    return list(_search_body(cloud, tenant, query, collection, **extra)["results"])


def test_vectorize_is_accepted_then_searchable_and_resend_is_skipped(cloud: Any, tenant: dict[str, Any]) -> None:
    response = _post(cloud, "/vectorize", {"tenant_id": tenant["id"], "collection": "products",
                                           "records": PRODUCTS}, tenant["headers"])
    assert response.status_code == 202
    body = response.json()
    assert body["job_id"] and body["status"] == "queued"
    job = wait_job(cloud, body["job_id"], tenant["headers"], timeout=120.0)
    assert (job["status"], job["processed"], job["failed"], job["errors"]) == ("done", 3, 0, [])

    results = _search(cloud, tenant, "vocês têm protetor solar?", limit=2)
    assert [r["id"] for r in results][:1] == ["10"]
    assert results[0]["metadata"] == {"sku": "PROT-50-001", "price": 89.9}
    assert "FPS 50" in results[0]["text"] and isinstance(results[0]["score"], float)
    assert len(results) == 2
    assert results[0]["relevant"] and not results[1]["relevant"]
    assert results[0]["relevance"] > results[1]["relevance"]

    again = _vectorize(cloud, tenant, PRODUCTS)
    assert (again["status"], again["processed"], again["skipped"]) == ("done", 3, 3)


def test_search_says_when_nothing_is_relevant(cloud: Any, tenant: dict[str, Any]) -> None:
    """The gate: below the collection's threshold the answer is `answerable: false` and no hits, unless the caller
    asks for the hits below it (each flagged); a follow-up is searched with the previous message."""
    _vectorize(cloud, tenant, PRODUCTS)
    found = _search_body(cloud, tenant, "vocês têm protetor solar com FPS 50?")
    assert found["answerable"] is True and [r["id"] for r in found["results"]] == ["10"]
    assert 0 < found["threshold"] < 1 and found["results"][0]["relevance"] >= found["threshold"]
    nothing = _search_body(cloud, tenant, "vocês consertam bicicleta aos domingos?")
    assert (nothing["answerable"], nothing["results"], nothing["reason"]) == (False, [], "below_threshold")
    flagged = _search_body(cloud, tenant, "vocês consertam bicicleta aos domingos?", include_below_threshold=True)
    assert flagged["results"] and not any(r["relevant"] for r in flagged["results"])
    follow = _search_body(cloud, tenant, "e quanto custa?", previous="tem sabonete pra pele seca?")
    assert [r["id"] for r in follow["results"]][:1] == ["3"]


def test_a_collection_is_reindexed_for_a_new_model_set(cloud: Any, tenant: dict[str, Any],
                                                      admin_headers: dict[str, str]) -> None:
    """POST /collections/{name}/reindex: a job with progress; afterwards the same records are found again. (The stack
    has one model set, so the collection is up to date: 409, and `force` re-embeds it anyway.)"""
    _vectorize(cloud, tenant, PRODUCTS, collection="support_documents")
    url = f"{cloud.url}/collections/support_documents/reindex"
    assert httpx.post(url, headers=admin_headers, timeout=30).status_code == 409
    response = httpx.post(url + "?force=true", headers=admin_headers, timeout=30)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["kind"] == "reindex" and body["total"] >= 3
    job = wait_job(cloud, body["job_id"], admin_headers, timeout=120.0)
    assert (job["status"], job["kind"], job["processed"]) == ("done", "reindex", body["total"])
    hits = _search(cloud, tenant, "protetor solar", collection="support_documents")
    assert hits[0]["id"] == "10"
    listed = httpx.get(f"{cloud.url}/collections", headers=admin_headers, timeout=30).json()["collections"]
    entry = next(c for c in listed if c["name"] == "support_documents")
    assert entry["reindex_needed"] is False and set(entry["models"]) == {"e5", "use"}
    unknown = httpx.post(f"{cloud.url}/collections/nope_nope/reindex", headers=admin_headers, timeout=30)
    assert unknown.status_code == 404
    assert httpx.post(f"{cloud.url}/collections/support_documents/reindex", timeout=30).status_code == 401


def test_large_batches_are_split_into_messages(cloud: Any, tenant: dict[str, Any]) -> None:
    records = [{"id": i, "text": f"Produto número {i}: creme hidratante edição {i}"} for i in range(150)]
    response = _post(cloud, "/vectorize", {"tenant_id": tenant["id"], "collection": "products", "records": records},
                     tenant["headers"])
    assert response.status_code == 202 and response.json()["parts"] == 3
    job = wait_job(cloud, response.json()["job_id"], tenant["headers"], timeout=120.0)
    assert (job["status"], job["total"], job["processed"], job["parts_done"]) == ("done", 150, 150, 3)
    assert _search(cloud, tenant, "produto número 149 edição 149", limit=1)[0]["id"] == "149"


def test_delete_ids_and_archived_records_disappear(cloud: Any, tenant: dict[str, Any]) -> None:
    _vectorize(cloud, tenant, PRODUCTS)
    job = _vectorize(cloud, tenant, [{"id": 3, "archived": True}], delete_ids=[10])
    assert (job["status"], job["deleted"]) == ("done", 2)
    assert {r["id"] for r in _search(cloud, tenant, "protetor solar sabonete gel", limit=5)} == {"1"}


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"collection": "nope_collection", "records": [{"id": 1, "text": "a"}]}, 404, "collection"),
    ({"collection": "products", "records": [{"id": 1, "text": "ok"}, {"id": 2, "text": " "}]}, 422,
     "records.1.text"),
    ({"collection": "products", "records": [{"id": 1, "text": "x" * 60_001}]}, 413, "records.0.text"),
    ({"collection": "products", "records": [{"id": 1}], "extra": 1}, 422, "extra"),
    ({"collection": "products", "records": [{"id": None, "text": "a"}]}, 422, "records.0.id"),
    ({"collection": "products"}, 422, "records"),
])
def test_bad_input_is_a_clear_4xx_and_nothing_is_stored(cloud: Any, tenant: dict[str, Any], body: dict[str, Any],
                                                        status: int, field: str) -> None:
    response = _post(cloud, "/vectorize", {"tenant_id": tenant["id"], **body}, tenant["headers"])
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    jobs = httpx.get(f"{cloud.url}/vectorize/jobs", params={"tenant_id": tenant["id"]}, headers=tenant["headers"])
    assert jobs.json()["jobs"] == []


def test_bad_json_and_wrong_or_missing_token_are_rejected(cloud: Any, tenant: dict[str, Any]) -> None:
    raw = httpx.post(cloud.url + "/vectorize", content=b"{not json", headers=tenant["headers"])
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "invalid_json"
    body = {"tenant_id": tenant["id"], "collection": "products", "records": PRODUCTS}
    assert _post(cloud, "/vectorize", body, {}).status_code == 401
    assert _post(cloud, "/vectorize", body, {"Authorization": "Bearer wrong"}).status_code == 401
    unknown = dict(body, tenant_id="t_never_configured")
    assert _post(cloud, "/vectorize", unknown, {"Authorization": "Bearer anything"}).status_code == 401


def test_tenant_isolation_over_http(cloud: Any, admin_headers: dict[str, str]) -> None:
    tenants: list[dict[str, Any]] = []
    for _ in range(2):
        tenant_id = "t_" + uuid.uuid4().hex[:10]
        token = secrets.token_urlsafe(24)
        httpx.put(f"{cloud.url}/configs/{tenant_id}/default/credentials", headers=admin_headers,
                  json={"vectorize_token": token}).raise_for_status()
        tenants.append({"id": tenant_id, "headers": {"Authorization": f"Bearer {token}"}})
    a, b = tenants
    _vectorize(cloud, a, PRODUCTS)
    _vectorize(cloud, b, [{"id": 1, "text": "Segredo comercial da loja B: protetor solar FPS 50 gel sabonete",
                           "metadata": {"tenant_id": a["id"]}}])
    # A's token cannot act as B, in any route
    for path, body in [("/search", {"tenant_id": b["id"], "collection": "products", "query": "segredo"}),
                       ("/vectorize", {"tenant_id": b["id"], "collection": "products", "delete_ids": [1]})]:
        assert _post(cloud, path, body, a["headers"]).status_code == 401
    assert httpx.get(f"{cloud.url}/vectorize/jobs", params={"tenant_id": b["id"]},
                     headers=a["headers"]).status_code == 401
    # whatever A asks or filters, only A's records come back
    cases: list[tuple[str, dict[str, Any]]] = [
        ("Segredo comercial da loja B", {}), ("protetor solar FPS 50 gel sabonete", {}),
        ("segredo", {"filter": {"tenant_id": b["id"]}}), ("segredo", {"mode": "sparse"}),
        ("segredo", {"mode": "dense", "limit": 50}),
    ]
    for query, extra in cases:
        for hit in _search(cloud, a, query, **extra):
            assert "Segredo" not in hit["text"], (query, extra)
    assert [h["text"][:7] for h in _search(cloud, b, "segredo")] == ["Segredo"]


def test_job_listing_and_status_are_scoped(cloud: Any, tenant: dict[str, Any], admin_headers: dict[str, str]) -> None:
    job = _vectorize(cloud, tenant, PRODUCTS[:1])
    mine = httpx.get(f"{cloud.url}/vectorize/jobs", params={"tenant_id": tenant["id"]}, headers=tenant["headers"])
    assert [j["job_id"] for j in mine.json()["jobs"]] == [job["job_id"]]
    everything = httpx.get(f"{cloud.url}/vectorize/jobs", headers=admin_headers).json()["jobs"]
    assert job["job_id"] in [j["job_id"] for j in everything]
    assert httpx.get(f"{cloud.url}/vectorize/jobs").status_code == 401
    assert httpx.get(f"{cloud.url}/vectorize/jobs/{job['job_id']}").status_code == 401
    assert httpx.get(f"{cloud.url}/vectorize/jobs/nope", headers=admin_headers).status_code == 404


def test_collections_are_managed_with_the_admin_key(cloud: Any, tenant: dict[str, Any],
                                                    admin_headers: dict[str, str]) -> None:
    name = "faq_" + uuid.uuid4().hex[:6]
    assert _post(cloud, "/collections", {"name": name}, tenant["headers"]).status_code == 401
    created = _post(cloud, "/collections", {"name": name}, admin_headers)
    assert created.status_code == 201
    assert _post(cloud, "/collections", {"name": "Bad Name"}, admin_headers).status_code == 422
    job = _vectorize(cloud, tenant, [{"id": "q1", "text": "Vocês entregam no sábado? Sim, até as 12h."}],
                     collection=name)
    assert job["processed"] == 1
    listed = httpx.get(f"{cloud.url}/collections", params={"tenant_id": tenant["id"]}, headers=admin_headers).json()
    entry = next(c for c in listed["collections"] if c["name"] == name)
    assert entry["points"] == 1 and not entry["default"]
    assert {"products", "business_rules", "support_documents"} <= {c["name"] for c in listed["collections"]}
    assert httpx.delete(f"{cloud.url}/collections/{name}", headers=tenant["headers"]).status_code == 401
    assert httpx.delete(f"{cloud.url}/collections/{name}", headers=admin_headers).status_code == 200
    gone = _post(cloud, "/vectorize", {"tenant_id": tenant["id"], "collection": name,
                                       "records": [{"id": 1, "text": "a"}]}, tenant["headers"])
    assert gone.status_code == 404


def test_admin_can_search_for_the_viewer(cloud: Any, tenant: dict[str, Any], admin_headers: dict[str, str]) -> None:
    _vectorize(cloud, tenant, PRODUCTS)
    response = _post(cloud, "/search", {"tenant_id": tenant["id"], "collection": "products", "query": "sabonete"},
                     admin_headers)
    assert response.status_code == 200 and response.json()["results"][0]["id"] == "3"


def test_a_rotated_token_replaces_the_old_one(cloud: Any, tenant: dict[str, Any],
                                              admin_headers: dict[str, str]) -> None:
    body = {"tenant_id": tenant["id"], "collection": "products", "query": "protetor"}
    assert _post(cloud, "/search", body, tenant["headers"]).status_code == 200
    new_token = secrets.token_urlsafe(24)
    httpx.put(f"{cloud.url}/configs/{tenant['id']}/default/credentials", headers=admin_headers,
              json={"vectorize_token": new_token}).raise_for_status()
    deadline = time.monotonic() + 30
    while _post(cloud, "/search", body, tenant["headers"]).status_code != 401:  # ConfigChanged reaches the API
        assert time.monotonic() < deadline, "the old token still works"
        time.sleep(0.1)
    assert _post(cloud, "/search", body, {"Authorization": f"Bearer {new_token}"}).status_code == 200
