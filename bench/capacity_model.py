"""The capacity and cost model: measured per-event usage (bench/bench_capacity.py) × prices (bench/prices.yaml) →
monthly cost per scale, split by service with the LLM apart, and the first limit each scale meets.

Pure functions over plain dicts, so tests can check the arithmetic, and `python -m bench.capacity_model` can re-price
a saved measurement (`bench/capacity_usage.json`) after an edit of the prices without measuring again.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PRICES = ROOT / "bench" / "prices.yaml"
USAGE = ROOT / "bench" / "capacity_usage.json"
REPORT = ROOT / "bench" / "capacity.md"
PLOTS = ROOT / "docs" / "capacity"
SECONDS_PER_MONTH = 30 * 86400
SERVICES = ("Lambda", "API Gateway", "DynamoDB", "SQS", "EventBridge", "KMS", "CloudWatch Logs", "Qdrant")


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


# ---------------------------------------------------------------------------------------------- one event's cost
def aws_cost(event: dict[str, Any], prices: dict[str, Any]) -> dict[str, float]:
    """USD per service for one measured event (a turn, a record, a config change)."""
    cost = dict.fromkeys(SERVICES, 0.0)
    units: dict[str, float] = {}
    for function in event["functions"].values():
        cost["Lambda"] += function["gb_s"] * prices["lambda"]["gb_second"]
        cost["Lambda"] += function["invocations"] * prices["lambda"]["per_million_requests"] / 1e6
        for key, value in function["units"].items():
            units[key] = units.get(key, 0.0) + value
    cost["API Gateway"] = event["http_requests"] * prices["api_gateway_http"]["per_million_requests"] / 1e6
    ddb = prices["dynamodb_on_demand"]
    cost["DynamoDB"] = (units.get("dynamodb_rru", 0) * ddb["per_million_read_units"]
                        + units.get("dynamodb_wru", 0) * ddb["per_million_write_units"]) / 1e6
    cost["SQS"] = units.get("sqs_requests", 0) * prices["sqs"]["fifo_per_million_requests"] / 1e6
    cost["EventBridge"] = units.get("eventbridge_events", 0) * prices["eventbridge"]["per_million_events"] / 1e6
    cost["KMS"] = units.get("kms_requests", 0) * prices["kms"]["per_10k_requests"] / 1e4
    cost["CloudWatch Logs"] = units.get("log_bytes", 0) / 1e9 * prices["cloudwatch_logs"]["ingest_per_gb"]
    return cost


def llm_cost(event: dict[str, Any], prices: dict[str, Any], model: str | None = None) -> float:
    llm = event.get("llm") or {}
    rate = prices["llm"]["models"][model or prices["llm"]["model"]]
    return (llm.get("prompt_tokens", 0) * rate["input_per_million"]
            + llm.get("completion_tokens", 0) * rate["output_per_million"]) / 1e6


def per_turn(measured: dict[str, Any], key: str) -> dict[str, Any]:
    """A measured set divided by its number of events."""
    block = measured[key]
    count = block["count"]
    functions = {
        name: {"invocations": f["invocations"] / count, "billed_ms": f["billed_ms"] / count, "gb_s": f["gb_s"] / count,
               "memory_mb": f.get("memory_mb"), "calls": {k: v / count for k, v in f["calls"].items()},
               "units": {k: v / count for k, v in f["units"].items()}}
        for name, f in block["functions"].items()}
    llm = {k: v / count for k, v in (block.get("llm") or {}).items()}
    return {"functions": functions, "http_requests": block["http_requests"] / count, "llm": llm}


# ---------------------------------------------------------------------------------------------- a month at a scale
def qdrant_gb(tenants: int, prices: dict[str, Any], dims: list[int]) -> float:
    q, s = prices["qdrant"], prices["scenario"]
    points = tenants * s["records_per_tenant"] * q["chunks_per_record"]
    per_point = sum(dims) * 4 * (1 + q["index_overhead"]) + q["payload_bytes_per_point"]
    return points * per_point / 1e9


def monthly(measured: dict[str, Any], prices: dict[str, Any], tenants: int) -> dict[str, Any]:
    s = prices["scenario"]
    turns = tenants * s["conversations_per_day_per_tenant"] * s["turns_per_conversation"] * 30
    records = tenants * s["records_changed_per_day_per_tenant"] * 30
    changes = tenants * s["config_changes_per_day_per_tenant"] * 30
    services = dict.fromkeys(SERVICES, 0.0)
    for key, count in (("turn", turns), ("record", records), ("config_change", changes)):
        for service, usd in aws_cost(per_turn(measured, key), prices).items():
            services[service] += usd * count
    # Fixed: the event source mappings' long polling of the two SQS-triggered queues, the KMS key.
    polls = 2 * prices["sqs"]["esm_pollers_per_queue"] * SECONDS_PER_MONTH / 20
    services["SQS"] += polls * prices["sqs"]["fifo_per_million_requests"] / 1e6
    services["KMS"] += prices["kms"]["key_month"]
    services["Qdrant"] = qdrant_gb(tenants, prices, measured["vector_dims"]) * prices["qdrant"]["ram_gb_month"]
    llm = llm_cost(per_turn(measured, "turn"), prices) * turns
    aws = sum(services.values())
    return {"tenants": tenants, "turns": turns, "conversations": turns / s["turns_per_conversation"],
            "services": services, "aws": aws, "llm": llm, "total": aws + llm}


def limits(measured: dict[str, Any], prices: dict[str, Any], tenants: int) -> list[dict[str, Any]]:
    """Each limit's use at the scale's peak hour (1.0 = at the limit), busiest first."""
    s, lim = prices["scenario"], prices["limits"]
    turn = per_turn(measured, "turn")
    peak_turns_s = tenants * s["conversations_per_day_per_tenant"] * s["turns_per_conversation"] \
        * s["peak_hour_share"] / 3600
    llm_wait_s = turn["llm"].get("calls", 0) * prices["llm"]["latency_s_per_call"]
    concurrency = 0.0
    for name, function in turn["functions"].items():
        invocations = function["invocations"]
        if invocations <= 0:
            continue
        seconds = function["billed_ms"] / invocations / 1000
        if name == "ConversationWorkerFunction":
            seconds += llm_wait_s / invocations
        concurrency += peak_turns_s * invocations * seconds
    sends = turn["functions"].get("WebhookReceiverFunction", {}).get("calls", {}).get("sqs.SendMessage", 1.0)
    instances = max(1.0, concurrency)
    config_reads_s = instances * 3 / lim["config_max_staleness_s"]  # config, credentials, mapping per instance
    rows = [
        ("Lambda concurrency (account)", concurrency, lim["lambda_concurrency_per_account"],
         "ask AWS for a higher account limit; reserve concurrency for the receiver so the worker cannot starve it"),
        ("API Gateway requests/s (account)", peak_turns_s * turn["http_requests"],
         lim["api_gateway_http_rps_per_account"],
         "raise the account throttle; the MCP calls can go to the gateway function directly"),
        ("SQS FIFO sends/s (conversations queue)", peak_turns_s * sends, lim["sqs_fifo_tps_per_action"],
         "turn on high-throughput FIFO (per message group ordering is kept)"),
        ("DynamoDB reads/s of one tenant's config partition", config_reads_s, lim["dynamodb_partition_rcu_per_s"],
         "raise CONFIG_MAX_STALENESS_S (events keep caches fresh) or cache the config in an extension"),
        ("Qdrant RAM (GB on one node)", qdrant_gb(tenants, prices, measured["vector_dims"]), lim["qdrant_node_ram_gb"],
         "a Qdrant cluster with the collections sharded by tenant (custom sharding on tenant_id)"),
    ]
    out = [{"limit": name, "use": round(value, 4), "capacity": cap, "utilisation": value / cap, "change": change}
           for name, value, cap, change in rows]
    return sorted(out, key=lambda r: -r["utilisation"])


# ---------------------------------------------------------------------------------------------- report
def _usd(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def render(measured: dict[str, Any], prices: dict[str, Any]) -> str:
    s = prices["scenario"]
    turn = per_turn(measured, "turn")
    lines = [
        "# Capacity and cost (generated by `make capacity`)",
        "",
        f"Usage measured {measured['measured_at']} on the local stack ({measured['turns']} turns of the scripted "
        f"conversation set, LLM stub); prices of {prices['prices_date']} ({prices['region']}, `bench/prices.yaml`). "
        "How to read it: docs/capacity.md.",
        "",
        "## Per event (measured)",
        "",
        "| event | function invocations | billed GB-s | DynamoDB RRU | DynamoDB WRU | SQS requests | HTTP requests "
        "| Qdrant calls | LLM calls | LLM tokens in / out |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, label in (("turn", "one customer turn"), ("turn_no_llm", "one turn, tenant without LLM"),
                       ("record", "one vectorized record"), ("config_change", "one config change")):
        if key not in measured:
            continue
        event = per_turn(measured, key)
        units: dict[str, float] = {}
        for f in event["functions"].values():
            for k, v in f["units"].items():
                units[k] = units.get(k, 0) + v
        llm = event["llm"]
        lines.append(
            f"| {label} | {sum(f['invocations'] for f in event['functions'].values()):.2f} "
            f"| {sum(f['gb_s'] for f in event['functions'].values()):.3f} | {units.get('dynamodb_rru', 0):.1f} "
            f"| {units.get('dynamodb_wru', 0):.1f} | {units.get('sqs_requests', 0):.1f} | {event['http_requests']:.1f} "
            f"| {units.get('qdrant_calls', 0):.1f} | {llm.get('calls', 0):.2f} "
            f"| {llm.get('prompt_tokens', 0):,.0f} / {llm.get('completion_tokens', 0):,.0f} |")
    lines += ["", "Per function, one turn:", "", "| function | invocations | billed ms | memory MB | AWS calls |",
              "|---|---:|---:|---:|---|"]
    for name, f in sorted(turn["functions"].items()):
        if f["invocations"] <= 0:
            continue
        calls = ", ".join(f"{k} {v:.2f}" for k, v in sorted(f["calls"].items()))
        lines.append(f"| {name} | {f['invocations']:.2f} | {f['billed_ms']:.0f} | {f['memory_mb']} | {calls} |")
    lines += ["", f"## A month ({s['conversations_per_day_per_tenant']} conversations a day per tenant, "
              f"{s['turns_per_conversation']} turns each; LLM priced at `{prices['llm']['model']}`)", "",
              "| tenants | conversations | " + " | ".join(SERVICES) + " | AWS total | LLM | total | per 1,000 conv. |",
              "|---:|---:|" + "---:|" * (len(SERVICES) + 4)]
    for tenants in s["tenants"]:
        m = monthly(measured, prices, tenants)
        per_k = m["total"] / m["conversations"] * 1000
        lines.append(f"| {tenants:,} | {m['conversations']:,.0f} | "
                     + " | ".join(_usd(m["services"][x]) for x in SERVICES)
                     + f" | {_usd(m['aws'])} | {_usd(m['llm'])} | {_usd(m['total'])} | {_usd(per_k)} |")
    thousand = cost_per_thousand(measured, prices)
    lines += ["", f"**1,000 conversations** ({s['turns_per_conversation']} turns each, at the 100-tenant scale): "
              f"AWS {_usd(thousand['aws'])} USD + LLM {_usd(thousand['llm'])} USD "
              f"(`{prices['llm']['model']}`).", "", "## Where it breaks (the busiest hour)", ""]
    for tenants in s["tenants"]:
        rows = limits(measured, prices, tenants)
        lines += [f"**{tenants:,} tenants**: first limit met: {rows[0]['limit']} at {rows[0]['utilisation']:.1%} "
                  "of it.", "", "| limit | use | limit | share | what to change |", "|---|---:|---:|---:|---|"]
        lines += [f"| {r['limit']} | {r['use']:,.2f} | {r['capacity']:,} | {r['utilisation']:.1%} | {r['change']} |"
                  for r in rows]
        lines.append("")
    cold = measured.get("cold_start_s", {})
    if cold:
        lines += ["Cold starts measured here (s): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in sorted(cold.items())) + ". A burst of new conversations "
                  "opens one worker environment each, and each pays the worker's cold start before its first reply.",
                  ""]
    return "\n".join(lines)


def cost_per_thousand(measured: dict[str, Any], prices: dict[str, Any], tenants: int = 100) -> dict[str, float]:
    m = monthly(measured, prices, tenants)
    return {"aws": m["aws"] / m["conversations"] * 1000, "llm": m["llm"] / m["conversations"] * 1000}


# ---------------------------------------------------------------------------------------------- plots (plain SVG)
def _svg(width: int, height: int, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">'
            f'<rect width="100%" height="100%" fill="white"/>' + "".join(body) + "</svg>\n")


def plot_cost_vs_tenants(measured: dict[str, Any], prices: dict[str, Any]) -> str:
    scales = [1, 3, 10, 30, 100, 300, 1000, 3000, 10000]
    series = {"AWS": [], "LLM": [], "total": []}  # type: dict[str, list[float]]
    for tenants in scales:
        m = monthly(measured, prices, tenants)
        series["AWS"].append(m["aws"])
        series["LLM"].append(m["llm"])
        series["total"].append(m["total"])
    left, top, w, h = 70, 30, 520, 300
    values = [v for vs in series.values() for v in vs if v > 0]
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    hi = max(hi, lo + 1)

    def x(t: float) -> float:
        return left + w * math.log10(t) / 4

    def y(v: float) -> float:
        return top + h - h * (math.log10(max(v, 10.0 ** lo)) - lo) / (hi - lo)

    body = [f'<text x="{left}" y="18" font-size="14">Monthly cost (USD, log) vs tenants (log)</text>',
            f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#333"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#333"/>']
    for e in range(0, 5):
        body.append(f'<text x="{x(10 ** e) - 10}" y="{top + h + 16}">{10 ** e:,}</text>')
    for e in range(lo, hi + 1):
        body.append(f'<line x1="{left}" y1="{y(10.0 ** e)}" x2="{left + w}" y2="{y(10.0 ** e)}" stroke="#ddd"/>'
                    f'<text x="6" y="{y(10.0 ** e) + 4}">{10.0 ** e:,.{0 if e >= 0 else -e}f}</text>')
    colours = {"AWS": "#1f77b4", "LLM": "#d62728", "total": "#333333"}
    for i, (name, vs) in enumerate(series.items()):
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(scales, vs, strict=True) if v > 0)
        body.append(f'<polyline fill="none" stroke="{colours[name]}" stroke-width="2" points="{points}"/>')
        body.append(f'<text x="{left + w + 8}" y="{top + 20 + 16 * i}" fill="{colours[name]}">{name}</text>')
    return _svg(650, 370, body)


def plot_share_by_service(measured: dict[str, Any], prices: dict[str, Any], tenants: int = 100) -> str:
    m = monthly(measured, prices, tenants)
    parts = {**m["services"], f"LLM ({prices['llm']['model']})": m["llm"]}
    total = sum(parts.values()) or 1.0
    rows = sorted(parts.items(), key=lambda kv: -kv[1])
    body = [f'<text x="10" y="18" font-size="14">Share of the monthly cost by service, {tenants:,} tenants '
            f'({_usd(total)} USD)</text>']
    for i, (name, usd) in enumerate(rows):
        yy = 34 + 22 * i
        width = 360 * usd / total
        body.append(f'<text x="10" y="{yy + 13}">{name}</text>'
                    f'<rect x="230" y="{yy}" width="{width:.1f}" height="16" fill="#1f77b4"/>'
                    f'<text x="{236 + width:.1f}" y="{yy + 13}">{usd / total:.1%} ({_usd(usd)})</text>')
    return _svg(700, 44 + 22 * len(rows), body)


def write_report(measured: dict[str, Any], prices: dict[str, Any]) -> None:
    REPORT.write_text(render(measured, prices) + "\n", encoding="utf-8")
    PLOTS.mkdir(parents=True, exist_ok=True)
    (PLOTS / "cost_vs_tenants.svg").write_text(plot_cost_vs_tenants(measured, prices), encoding="utf-8")
    (PLOTS / "share_by_service.svg").write_text(plot_share_by_service(measured, prices), encoding="utf-8")


def main() -> int:
    """Re-price the saved measurement with the current prices.yaml (no measuring)."""
    if not USAGE.exists():
        print(f"no measurement yet ({USAGE}): run `make capacity`", file=sys.stderr)
        return 1
    write_report(json.loads(USAGE.read_text(encoding="utf-8")), load_prices())
    print(f"wrote {REPORT.relative_to(ROOT)} and {PLOTS.relative_to(ROOT)}/*.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
