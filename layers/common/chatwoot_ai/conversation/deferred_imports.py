"""crewai's optional parts, imported only when something uses them.

`import crewai` runs `crewai.rag`'s `__init__` (the ChromaDB and Qdrant provider configs) and, through
`crewai.rag.embeddings.types` (which Agent and Crew name in their fields), the `__init__` of every embedding provider
package (each loads its provider and chromadb's embedding functions). Our crews use none of them (no crewai memory,
knowledge or RAG tools: retrieval runs in our code). Deferring these `__init__`s takes `import crewai` from 3.18 s to
2.85 s of CPU here (docs/conversation.md, "Cold start"); chromadb and qdrant_client themselves are still imported, by
`crewai.knowledge`, which imports their crewai configs by name.

`defer_package_inits` installs a meta-path finder that imports those packages without running their `__init__`: the
package exists (its `__path__` too, so `crewai.rag.embeddings.types` and the providers' `types` modules import as
always), and its `__init__` runs the first time something asks it for a name it defines (`from crewai.rag import
set_rag_config`, a provider package's `OpenAIProvider`). So a feature that needs them (crewai knowledge, memory, a
RAG client) gets them when used. It is not `importlib.util.LazyLoader` on chromadb: crewai reads names from these
modules with `from x import y` at import time, which runs a lazy module at once, and protobuf modules
(qdrant_client.grpc) break under it (measured).

Only the packages listed are deferred, and only their own `__init__`: their submodules load as imported. The
deferral is correct for packages whose `__init__` only re-exports or configures (checked for crewai 1.15:
`crewai.rag` re-exports and installs a module class for `crewai.rag.config = ...`; each provider package re-exports),
and a deferred `__init__` runs under one lock: no crewai module asks these packages for a name while it is itself
being imported (checked: none does `from crewai.rag import ...` or imports a provider package's names at module
level), so that lock never waits on an import lock held by another thread.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

# crewai 1.15's packages whose __init__ pulls chromadb / qdrant_client / provider SDKs that our crews never use.
CREWAI_OPTIONAL = ("crewai.rag", "crewai.rag.embeddings.providers.*")

_lock = threading.RLock()


class _DeferredPackage(ModuleType):
    """A package whose `__init__` has not run yet; the first name it does not have runs it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_run_init(self), name)


def _run_init(module: ModuleType) -> ModuleType:
    """Runs the package's `__init__` once (later callers get the result); returns the module it left in sys.modules
    (crewai.rag puts a module of its own class there)."""
    with _lock:
        if isinstance(module, _DeferredPackage):
            loader = module.__dict__.pop("__deferred_loader__")
            module.__class__ = ModuleType  # type: ignore[assignment]  # back to a plain module, as LazyLoader does
            name = module.__name__
            try:
                loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)  # as a failed import leaves it
                raise
            current = sys.modules.get(name, module)
            parent, _, child = name.rpartition(".")
            if current is not module and parent in sys.modules:
                for key, value in module.__dict__.items():  # the submodules imported before the __init__ ran
                    if isinstance(value, ModuleType) and value.__name__ == f"{name}.{key}":
                        current.__dict__.setdefault(key, value)
                setattr(sys.modules[parent], child, current)
            module.__dict__["__deferred_result__"] = current
        return module.__dict__.get("__deferred_result__", module)  # type: ignore[no-any-return]


class _DeferredLoader:
    """The package's own loader, with its `exec_module` postponed to the first use of a name."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self.loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        module.__dict__["__deferred_loader__"] = self.loader
        module.__class__ = _DeferredPackage


class DeferredInitFinder:
    """Finds the listed packages with the other finders and defers their `__init__`. A pattern `a.b.*` matches the
    direct subpackages of `a.b`."""

    def __init__(self, packages: Sequence[str]) -> None:
        self.exact = {p for p in packages if not p.endswith(".*")}
        self.children_of = {p[:-2] for p in packages if p.endswith(".*")}

    def matches(self, name: str) -> bool:
        return name in self.exact or name.rpartition(".")[0] in self.children_of

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if not self.matches(fullname):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            if spec.submodule_search_locations is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = cast("Loader", _DeferredLoader(spec.loader))
            return spec
        return None


def defer_package_inits(packages: Sequence[str] = CREWAI_OPTIONAL) -> DeferredInitFinder:
    """Installs the finder (once per list of packages); packages already imported are left as they are."""
    with _lock:
        for finder in sys.meta_path:
            if isinstance(finder, DeferredInitFinder) and finder.matches(packages[0]):
                return finder
        finder = DeferredInitFinder(packages)
        sys.meta_path.insert(0, finder)
        return finder


def deferred(name: str) -> bool:
    """Whether the package `name` is imported with its `__init__` not run yet."""
    return isinstance(sys.modules.get(name), _DeferredPackage)
