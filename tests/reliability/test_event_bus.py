"""The ConfigChanged bus on the emulated cloud: moto 5.2 delivers a rule's targets only to SQS, CloudWatch Logs and
other buses; one rule with any other target (the template's ConfigChangesToTopicRule → SNS) makes every PutEvents on
that bus raise `NotImplementedError: Expr not defined for Rule`, and config_stream could then publish nothing. The
runner leaves those targets out (infra/localcloud/provision.py); this keeps it that way for every rule on the bus."""

from __future__ import annotations

import json
from typing import Any


def test_every_rule_on_the_config_bus_has_a_target_moto_can_deliver(cloud: Any) -> None:
    events = cloud.stack.client("events")
    bus = cloud.stack.refs["ConfigEventBus"]
    rules = events.list_rules(EventBusName=bus)["Rules"]
    assert len(rules) >= 5, rules  # the topic rule and one per config-caching function
    for rule in rules:
        for target in events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]:
            service = target["Arn"].split(":")[2]
            assert service in ("sqs", "logs", "events"), (rule["Name"], target["Arn"])
    answer = events.put_events(Entries=[{"Source": "chatwoot-ai.config", "DetailType": "ConfigChanged",
                                         "EventBusName": bus, "Detail": json.dumps({"kind": "probe"})}])
    assert answer["FailedEntryCount"] == 0
