"""Plays EventBridge schedule rules (SAM `Type: Schedule`, `rate(...)` expressions): the function gets EventBridge's
"Scheduled Event" every period, from the moment the stack starts until it stops (a thread among the event sources:
started with them, stopped with them).

`LOCALCLOUD_SCHEDULE_RATE_S` replaces every schedule's period (tests and benches fire a 5-minute rule every second).
Cron expressions are not played: the runner refuses them at start, naming the rule.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from localcloud.lambdas import LocalFunction
from localcloud.provision import LOCAL_ACCOUNT, Stack
from localcloud.sources import Source

RATE_ENV = "LOCALCLOUD_SCHEDULE_RATE_S"
_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> float:
    """`rate(5 minutes)` → 300.0; anything else is a ValueError."""
    match = re.fullmatch(r"\s*rate\(\s*(\d+)\s+([a-z]+)\s*\)\s*", expression or "")
    if not match or match.group(2) not in _UNITS or int(match.group(1)) < 1:
        raise ValueError(f"schedule {expression!r}: the local runner plays rate(N minutes|hours|days) only")
    return int(match.group(1)) * float(_UNITS[match.group(2)])


def scheduled_event(rule: str, region: str, when: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge delivers to a schedule rule's target."""
    when = when or datetime.now(UTC)
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": LOCAL_ACCOUNT, "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT}:rule/{rule}"], "detail": {}}


class ScheduleSource(Source):
    """Invokes the function once per period (asynchronously, as EventBridge does: a failure is logged, and the next
    period comes anyway)."""

    def __init__(self, name: str, function: LocalFunction, stack: Stack, stop_event: threading.Event,
                 props: dict[str, Any]) -> None:
        super().__init__(name, function, stack, stop_event)
        override = os.environ.get(RATE_ENV)
        self.period_s = float(override) if override else rate_seconds(str(props.get("Schedule", "")))
        self.enabled = props.get("Enabled", True) is not False and props.get("State", "ENABLED") != "DISABLED"
        self.rule = f"{stack.name}-{name.replace('.', '-')}"[:64]
        self.next_at = time.monotonic() + self.period_s

    def poll_once(self) -> bool:
        remaining = self.next_at - time.monotonic()
        if not self.enabled or remaining > 0:
            self.stop_event.wait(min(max(remaining, 0.05), 0.5))
            return True
        self.next_at += self.period_s
        try:
            self.function.invoke(scheduled_event(self.rule, self.stack.region))
            self.delivered += 1
        except Exception:
            self.failed += 1
            raise  # Source.run logs it; the next period still comes
        return True
