"""The receiver under saturation (issue 16, finding 8): a write that does not finish in time, or DynamoDB throttling,
answers 429 with Retry-After (Chatwoot retries agent-bot webhooks on 429), never 500.

On main, a slow transaction ran the receiver past its 5 s Timeout: the runner (as Lambda) killed the invocation and
API Gateway answered 500 (seen here at a load average of 14 on a cold receiver); throttling raised a ClientError:
500. The in-process call below plays the runner's rule: an answer after the context's deadline is a timeout, 500.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import httpx
from botocore.exceptions import ClientError
from reliability.load_driver import make_tenants, per_conversation

from devtools.chatwoot_payloads import incoming, signed
from devtools.doubles import ChatwootStub

_ids = iter(range(int(time.time()) % 100_000 * 1000 + 800_000_000, 10**12))


def invoke_like_lambda(cloud: Any, raw: bytes, headers: dict[str, str]) -> httpx.Response:
    """The receiver in this process (where the test slows its DynamoDB), with the function's Timeout applied as the
    runner applies it: an answer after the deadline is "Task timed out", a 500 from API Gateway."""
    import webhook_receiver

    from localcloud.environment import LambdaContext
    from localcloud.gateway import Route, build_event, compile_path, parse_result

    spec = cloud.functions["WebhookReceiverFunction"].spec
    route = Route("POST", "/webhooks/chatwoot", compile_path("/webhooks/chatwoot"), None)  # type: ignore[arg-type]
    event = build_event(route, "POST", "/webhooks/chatwoot", "", {k.lower(): v for k, v in headers.items()}, raw, {},
                        "127.0.0.1", "local")
    deadline = time.time() + spec.timeout
    context = LambdaContext({"name": spec.logical_id, "memory": spec.memory, "log_stream": "in-process",
                             "arn": "arn:aws:lambda:us-east-1:123456789012:function:WebhookReceiverFunction"},
                            str(uuid.uuid4()), deadline)
    result = webhook_receiver.lambda_handler(event, context)
    if time.time() > deadline:
        return httpx.Response(500, json={"message": "Internal Server Error"})  # Task timed out
    status, out_headers, body, _ = parse_result(result)
    return httpx.Response(status, headers=out_headers, content=body)


class SlowDynamoDB:
    """The receiver's low-level DynamoDB client, with its one transaction held until `release` (a saturated table)
    or refused as throttled."""

    def __init__(self, real: Any, mode: str) -> None:
        self.real = real
        self.mode = mode
        self.release = threading.Event()

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self.mode == "throttled":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the "
                                         "allowed throughput."}}, "TransactWriteItems")
        self.release.wait(30)
        return self.real.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_saturated_receiver_answers_429_with_retry_after_and_loses_nothing(cloud: Any) -> None:
    import webhook_receiver

    with ChatwootStub() as stub:
        (shop,) = make_tenants(cloud.url, cloud.admin_key, stub.url, 1)
        real = webhook_receiver.get_intake()
        conversations: list[int] = []
        for mode in ("slow", "throttled"):
            slow = SlowDynamoDB(real.dynamodb_client, mode)
            conversation = next(_ids)
            raw, headers = signed(incoming(shop.account, 12, conversation, next(_ids), "Oi, tem pão de queijo?"),
                                  shop.secret)
            patched = type(real)(**{**real.__dict__, "dynamodb_client": slow})
            with webhook_receiver.get_intake.override(patched):
                busy = invoke_like_lambda(cloud, raw, headers)
            assert busy.status_code == 429, (mode, busy.status_code, busy.text)
            assert busy.headers["retry-after"].isdigit(), busy.headers
            assert busy.json()["error"]["code"] == "busy"
            slow.release.set()  # the table recovers; the late write (slow mode) may now land
            # Chatwoot's retry: the same delivery reaches the stack's own receiver.
            deadline = time.monotonic() + 30
            while True:
                retried = httpx.post(f"{cloud.url}/webhooks/chatwoot", content=raw, headers=headers, timeout=30)
                if retried.status_code != 429 or time.monotonic() > deadline:
                    break
                time.sleep(int(retried.headers["retry-after"]))
            assert retried.status_code == 200 and retried.json()["status"] in ("queued", "duplicate"), retried.text
            conversations.append(conversation)
        # Lost: nothing; doubled: nothing. One handoff message for each conversation.
        assert stub.wait_for(lambda: len(per_conversation(stub, [shop])) == 2, timeout=90), stub.successful()
        time.sleep(2)
        recorded = per_conversation(stub, [shop])
        assert {conv: counts["message"] for (_, conv), counts in recorded.items()} == dict.fromkeys(conversations, 1)
