"""What a warm instance builds once and keeps: clients, the config cache, a handler's domain objects.

    @per_settings
    def get_intake(settings: Settings) -> Intake:
        return Intake(...)          # built on first use, again only when the settings object changes

    get_intake()                    # every invocation: one identity check, no lock
    with get_intake.override(fake): # tests and the bench: this object instead, whatever the settings
        ...

`per_settings` rebuilds when `get_settings()` returns a new object (tests and the local runner change the environment
and reset the settings); `once` builds once per process. Arguments, when the builder takes any (`aws.client("sqs")`),
key one object each. The first call builds under a lock, so concurrent first invocations (the local runner serves
requests on threads) share one object.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from chatwoot_ai.settings import get_settings

T = TypeVar("T")
_UNSET: Any = object()


class Memo(Generic[T]):
    def __init__(self, build: Callable[..., T], scope: Callable[[], object], pass_settings: bool) -> None:
        self._build = build
        self._scope = scope
        self._pass_settings = pass_settings
        self._lock = threading.Lock()
        self._scope_value: object = _UNSET
        self._built: dict[tuple[Hashable, ...], T] = {}
        self._override: Any = _UNSET
        self.__doc__ = build.__doc__
        self.__name__ = getattr(build, "__name__", "memo")

    def __call__(self, *args: Hashable) -> T:
        if self._override is not _UNSET:
            return self._override  # type: ignore[no-any-return]
        scope = self._scope()
        if scope is self._scope_value:
            found = self._built.get(args, _UNSET)
            if found is not _UNSET:
                return found  # type: ignore[no-any-return]
        with self._lock:
            if scope is not self._scope_value:
                self._scope_value, self._built = scope, {}
            if args not in self._built:
                self._built[args] = self._build(scope, *args) if self._pass_settings else self._build(*args)
            return self._built[args]

    def reset(self) -> None:
        """Forget what was built; the next call builds again."""
        with self._lock:
            self._scope_value, self._built = _UNSET, {}

    @contextmanager
    def override(self, value: T) -> Iterator[T]:
        """Every call returns `value` inside the block (tests, the bench); the built object is kept for after."""
        previous, self._override = self._override, value
        try:
            yield value
        finally:
            self._override = previous


def per_settings(build: Callable[..., T]) -> Memo[T]:
    """`build(settings, *args)`, once per settings object (and per args)."""
    return Memo(build, get_settings, pass_settings=True)


_PROCESS = object()


def once(build: Callable[..., T]) -> Memo[T]:
    """`build(*args)`, once per process (and per args)."""
    return Memo(build, lambda: _PROCESS, pass_settings=False)

