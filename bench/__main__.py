"""Runs every `bench/bench_*.py` module's `run(ctx) -> list[Figure]` and writes the results.

`python -m bench [name ...]` runs only the named modules (e.g. `config`, `vectorize`) and replaces only their figures
in the results.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("layers/common", "functions/webhook", "functions/config", "functions/mcp_odoo", "functions/vectorize",
            "infra", "tests"):
    sys.path.insert(0, str(ROOT / sub))

from bench.context import BenchContext  # noqa: E402
from bench.figures import Figure  # noqa: E402

RESULTS_JSON = ROOT / "bench" / "results.json"
RESULTS_MD = ROOT / "bench" / "results.md"
LAST = ("bench_load",)


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4g}"


def write_markdown(figures: list[Figure], errors: dict[str, str], meta: dict[str, object]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Measured {meta['date']} on {meta['machine']} by `make bench` ({meta['duration_s']} s)."
        + (f" Measured again with `python -m bench`: {meta['remeasured']}." if meta.get("remeasured") else ""),
        "",
        "| area | figure | value | unit | compared with | baseline | ratio | target | met |",
        "|---|---|---:|---|---|---:|---:|---|---|",
    ]
    for f in figures:
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        lines.append(
            f"| {f.area} | {f.name} | {_fmt(f.value)} | {f.unit} | {f.baseline_name or ''} | "
            f"{_fmt(f.baseline_value)} | {_fmt(f.ratio)} | {f.target or ''} | {met} |"
        )
    notes = [f for f in figures if f.notes]
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"- **{f.name}**: {f.notes}" for f in notes]
    if errors:
        lines += ["", "Benchmarks that failed to run:", ""]
        lines += [f"- `{name}`: {message}" for name, message in errors.items()]
    return "\n".join(lines) + "\n"


def _merge_previous(names: list[str], figures: list[Figure],
                    errors: dict[str, str]) -> tuple[list[Figure], dict[str, str]]:
    """A partial run (`python -m bench load`) replaces only its own areas in the previous results."""
    if not RESULTS_JSON.is_file():
        return figures, errors
    areas = {n.removeprefix("bench_") for n in names}
    try:
        previous = json.loads(RESULTS_JSON.read_text())
        kept = [Figure(**{k: v for k, v in f.items() if k != "ratio"}) for f in previous.get("figures", [])
                if f.get("area") not in areas]
        kept_errors = {k: v for k, v in (previous.get("errors") or {}).items() if k not in names}
    except (ValueError, TypeError):
        return figures, errors
    order = [str(f.get("area")) for f in previous.get("figures", [])] + [f.area for f in figures]
    rank = {area: order.index(area) for area in order}
    merged = sorted(kept + figures, key=lambda f: (f.area == "load", rank[f.area]))
    return merged, {**kept_errors, **errors}


def main(argv: list[str]) -> int:
    wanted = set(argv)
    # The load run goes last: it fills the emulated tables and queues, and the others measure single calls.
    names = sorted((m.name for m in pkgutil.iter_modules([str(ROOT / "bench")]) if m.name.startswith("bench_")),
                   key=lambda name: (name in LAST, name))
    if wanted:
        names = [n for n in names if n.removeprefix("bench_") in wanted or n in wanted]
    started = time.perf_counter()
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    with BenchContext() as ctx:
        for name in names:
            print(f"== {name}", flush=True)
            try:
                module = importlib.import_module(f"bench.{name}")
                for figure in module.run(ctx):
                    figure.area = figure.area or name.removeprefix("bench_")
                    figures.append(figure)
                    print(f"   {figure.name}: {_fmt(figure.value)} {figure.unit}"
                          + (f" (ratio {_fmt(figure.ratio)} vs {figure.baseline_name})" if figure.ratio else ""),
                          flush=True)
            except Exception as exc:  # one broken benchmark must not hide the others
                traceback.print_exc()
                errors[name] = f"{type(exc).__name__}: {exc}"
    if wanted:
        figures, errors = _merge_previous(names, figures, errors)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "duration_s": round(time.perf_counter() - started, 1),
    }
    if wanted and RESULTS_JSON.is_file():  # keep the full run's date and duration; say what was measured again
        try:
            previous_meta = json.loads(RESULTS_JSON.read_text()).get("meta") or {}
        except ValueError:
            previous_meta = {}
        if previous_meta.get("date"):
            meta = {**previous_meta, "remeasured": f"{', '.join(n.removeprefix('bench_') for n in names)} "
                                                  f"at {meta['date']} ({meta['duration_s']} s)"}
    RESULTS_JSON.write_text(json.dumps({"meta": meta, "figures": [f.as_dict() for f in figures],
                                        "errors": errors}, indent=2, ensure_ascii=False) + "\n")
    table = write_markdown(figures, errors, meta)
    RESULTS_MD.write_text(table)
    print()
    print(table)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
