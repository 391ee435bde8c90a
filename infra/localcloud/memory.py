"""Memory per process of the local stack, read from `/proc/<pid>/status` (Linux): the runner itself (the gateway, the
pollers, the embedded Qdrant), moto's process (`motoserver.py`) when the stack knows its pid, and every execution
environment of every function. What a developer's machine pays for Lambda's one-process-per-
environment model; shown by `/health` (`memory`) and in each environment's first log line."""

from __future__ import annotations

import os
from typing import Any

MB = 1024.0


def status_kb(pid: int, field: str = "VmRSS") -> int | None:
    """A `/proc/<pid>/status` field in kB (`VmRSS` now, `VmHWM` the peak); None when the process is gone (or no
    /proc)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def process(pid: int, **about: Any) -> dict[str, Any]:
    rss, peak = status_kb(pid), status_kb(pid, "VmHWM")
    return {"pid": pid, "rss_mb": round(rss / MB, 1) if rss is not None else None,
            "peak_mb": round(peak / MB, 1) if peak is not None else None, **about}


def report(cloud: Any) -> dict[str, Any]:
    """{"runner": {...}, "moto": {...} and "qdrant": {...} (each when it is a process of its own), "functions":
    {LogicalId: [environment, ...]}, "total_rss_mb"}; an environment is {"pid", "rss_mb", "peak_mb", "invocations"}."""
    share = getattr(cloud, "qdrant_share", None)
    services = {"moto": getattr(cloud, "moto_pid", None), "qdrant": share.pid if share is not None else None}
    inside = [label for name, label in (("moto", "moto"), ("qdrant", "embedded Qdrant")) if not services[name]]
    runner = process(os.getpid(), holds=", ".join(["gateway", "event-source pollers", *inside]))
    out: dict[str, Any] = {"runner": runner}
    out.update({name: process(pid) for name, pid in services.items() if pid})
    out["functions"] = {name: [process(env.pid, invocations=env.invocations) for env in function.environments
                               if env.alive]
                        for name, function in sorted(cloud.functions.items())}
    every = [runner, *(out[name] for name, pid in services.items() if pid),
             *(e for envs in out["functions"].values() for e in envs)]
    out["total_rss_mb"] = round(sum(p["rss_mb"] or 0 for p in every), 1)
    return out
