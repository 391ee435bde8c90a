"""Chatwoot API client: replies, private notes, `toggle_status`; retries with backoff; a reply is never sent twice.

Retries: 429 and 5xx answers and connection failures are retried with exponential backoff (Retry-After honoured).
A read timeout on `POST .../messages` is NOT retried: Chatwoot may have stored the message, and a second one would be a
duplicate the customer sees; `toggle_status` is idempotent and is retried on any timeout.

"Never twice" across retries of the worker itself: `ReplyLedger` claims the (conversation, source message, kind) in the
HistoryTable with a conditional write before sending and records the outcome, so a redelivered job finds the reply
already sent.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import httpx
from botocore.exceptions import ClientError

from chatwoot_ai.observability import logger

_RETRY_STATUS = {429, 500, 502, 503, 504}
_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ChatwootError(Exception):
    """A Chatwoot call that failed for good. `status` is the last HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.maybe_delivered = maybe_delivered


class ChatwootClient:
    def __init__(self, base_url: str, api_access_token: str, *, timeout_s: float = 10.0, max_attempts: int = 4,
                 backoff_s: float = 0.5, http: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = api_access_token
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self._http = http or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)))
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def _url(self, account_id: int, conversation_id: int, suffix: str) -> str:
        return f"{self.base_url}/api/v1/accounts/{account_id}/conversations/{conversation_id}/{suffix}"

    def send_message(self, account_id: int, conversation_id: int, content: str, *,
                     private: bool = False) -> dict[str, Any]:
        body = {"content": content, "message_type": "outgoing", "private": private}
        return self._post(self._url(account_id, conversation_id, "messages"), body, idempotent=False)

    def private_note(self, account_id: int, conversation_id: int, content: str) -> dict[str, Any]:
        return self.send_message(account_id, conversation_id, content, private=True)

    def toggle_status(self, account_id: int, conversation_id: int, status: str = "open") -> dict[str, Any]:
        return self._post(self._url(account_id, conversation_id, "toggle_status"), {"status": status}, idempotent=True)

    def _post(self, url: str, body: dict[str, Any], idempotent: bool) -> dict[str, Any]:
        last_status: int | None = None
        for attempt in range(1, self.max_attempts + 1):
            retry_after: float | None = None
            try:
                response = self._http.post(url, json=body, headers={"api_access_token": self._token})
            except _CONNECT_ERRORS as exc:
                reason = f"connection failed: {type(exc).__name__}"
            except httpx.TimeoutException as exc:
                if not idempotent:
                    raise ChatwootError("Chatwoot did not answer in time; not retried (it may have stored it)",
                                        maybe_delivered=True) from exc
                reason = f"timeout: {type(exc).__name__}"
            except httpx.HTTPError as exc:
                if not idempotent:
                    raise ChatwootError(f"Chatwoot call failed: {type(exc).__name__}", maybe_delivered=True) from exc
                reason = f"http error: {type(exc).__name__}"
            else:
                last_status = response.status_code
                if response.is_success:
                    try:
                        data = response.json()
                    except ValueError:
                        data = {}
                    return data if isinstance(data, dict) else {"data": data}
                if response.status_code not in _RETRY_STATUS:
                    raise ChatwootError(f"Chatwoot answered {response.status_code}", status=response.status_code)
                reason = f"status {response.status_code}"
                retry_after = _retry_after(response)
            if attempt == self.max_attempts:
                raise ChatwootError(f"Chatwoot call failed after {attempt} attempts ({reason})", status=last_status)
            delay = retry_after if retry_after is not None else self.backoff_s * (2 ** (attempt - 1))
            delay = min(delay, 8.0) * (1 + random.random() * 0.1)
            logger.warning("Chatwoot call failed; retrying", extra={"attempt": attempt, "reason": reason,
                                                                      "delay_s": round(delay, 2)})
            self._sleep(delay)
        raise ChatwootError("unreachable")  # pragma: no cover


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class ReplyLedger:
    """Which replies were sent, per conversation and source message, in the HistoryTable (`table` resource)."""

    def __init__(self, table: Any, ttl_days: int = 30) -> None:
        self.table = table
        self.ttl_s = ttl_days * 86400

    @staticmethod
    def _key(pk: str, source_message_id: int | str, kind: str) -> dict[str, str]:
        return {"pk": pk, "sk": f"reply#{source_message_id}#{kind}"}

    def claim(self, pk: str, source_message_id: int | str, kind: str) -> bool:
        """True when this caller may send; False when it was sent (or may have been) already."""
        try:
            self.table.put_item(
                Item={**self._key(pk, source_message_id, kind), "status": "sending", "at": int(time.time()),
                      "expires_at": int(time.time()) + self.ttl_s},
                ConditionExpression="attribute_not_exists(sk) OR #s = :failed",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":failed": "failed"},
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def record(self, pk: str, source_message_id: int | str, kind: str, status: str) -> None:
        self.table.update_item(Key=self._key(pk, source_message_id, kind), UpdateExpression="SET #s = :s",
                               ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": status})

    def status(self, pk: str, source_message_id: int | str, kind: str) -> str | None:
        item = self.table.get_item(Key=self._key(pk, source_message_id, kind), ConsistentRead=True).get("Item")
        return str(item["status"]) if item else None


def send_once(ledger: ReplyLedger, pk: str, source_message_id: int | str, kind: str,
              send: Callable[[], dict[str, Any]]) -> bool:
    """Runs `send` unless this (conversation, message, kind) was sent before. True when it sent now.

    A definite failure (Chatwoot refused, or never answered) frees the claim so a retry may send; a possibly-delivered
    failure keeps it: at most once beats twice for a customer.
    """
    if not ledger.claim(pk, source_message_id, kind):
        logger.info("reply already sent; not sending again", extra={"kind": kind, "message_id": source_message_id})
        return False
    try:
        send()
    except ChatwootError as exc:
        ledger.record(pk, source_message_id, kind, "unknown" if exc.maybe_delivered else "failed")
        raise
    except Exception:
        ledger.record(pk, source_message_id, kind, "failed")
        raise
    ledger.record(pk, source_message_id, kind, "sent")
    return True
