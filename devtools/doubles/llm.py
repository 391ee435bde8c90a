"""An OpenAI-compatible chat-completions server on 127.0.0.1 for tests and benchmarks.

crewai's native OpenAI provider (`LLM(model="openai/<name>", base_url=stub.base_url)`) posts to
`{base_url}/chat/completions`; this answers with the standard response shape. Every request is recorded (`prompts`,
`requests`); answers are scripted by rules matched against the prompt text (an image part reads `<image>`); latency
and failures are configurable. `POST {base_url}/audio/transcriptions` (multipart `model` + `file`) answers
`{"text": transcript}` and records `(model, file name, size)` in `transcriptions`.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devtools.doubles.stub_server import QuietHandler, StubServer, send_body

Answer = str | dict[str, Any] | Callable[[str, dict[str, Any]], Any]
CHARS_PER_TOKEN = 4.0


def tool_call(name: str, **arguments: Any) -> dict[str, Any]:
    """A scripted answer that calls a tool (native function calling): `stub.on("...", answer=tool_call("x", a=1))`."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


@dataclass
class Rule:
    """When every string of `when` occurs in the prompt, answer `answer` (text, or fn(prompt, request) -> text)."""

    when: tuple[str, ...]
    answer: Answer
    times: int | None = None  # None: forever
    used: int = 0


@dataclass
class LlmStub(StubServer):
    thread_name = "llm-stub"
    latency_s: float = 0.0
    default_answer: Answer = "OK"
    rules: list[Rule] = field(default_factory=list)
    fail_next: int = 0  # the next N requests answer `fail_status`
    fail_always: bool = False
    fail_status: int = 500
    requests: list[dict[str, Any]] = field(default_factory=list)
    transcript: str = "Oi, vocês têm esse produto?"
    transcriptions: list[tuple[str, str, int]] = field(default_factory=list)
    usages: list[dict[str, int]] = field(default_factory=list)  # the `usage` of each answered request
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ token usage
    def count_usage(self, request: dict[str, Any], message: dict[str, Any]) -> dict[str, int]:
        """What a provider reports in `usage`, estimated at 4 characters a token (the stub has no tokenizer)."""
        prompt = len(json.dumps(request.get("messages", []), ensure_ascii=False))
        completion = len(json.dumps(message.get("tool_calls") or message.get("content") or "", ensure_ascii=False))
        usage = {"prompt_tokens": max(1, round(prompt / CHARS_PER_TOKEN)),
                 "completion_tokens": max(1, round(completion / CHARS_PER_TOKEN))}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        with self._lock:
            self.usages.append(usage)
        return usage

    # ------------------------------------------------------------------ scripting
    def on(self, *when: str, answer: Answer, times: int | None = None) -> LlmStub:
        """Later rules win over earlier ones, so a test can override a fixture's defaults."""
        self.rules.insert(0, Rule(tuple(when), answer, times))
        return self

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.transcriptions.clear()
            self.usages.clear()
            self.rules.clear()
            self.fail_next = 0
            self.fail_always = False
            self.latency_s = 0.0

    @property
    def prompts(self) -> list[str]:
        """Each request's messages flattened into one text (what the model saw)."""
        with self._lock:
            return [self.prompt_text(r) for r in self.requests]

    @staticmethod
    def prompt_text(request: dict[str, Any]) -> str:
        parts = []
        for message in request.get("messages", []):
            content = message.get("content")
            if isinstance(content, list):
                content = " ".join(str(c.get("text", "")) if c.get("type") != "image_url" else "<image>"
                                   for c in content if isinstance(c, dict))
            calls = " ".join(f"<call {c.get('function', {}).get('name')}>" for c in message.get("tool_calls") or [])
            parts.append(f"[{message.get('role')}] {content or ''}{calls}")
        return "\n".join(parts)

    def _answer(self, prompt: str, request: dict[str, Any]) -> str | dict[str, Any]:
        with self._lock:
            for rule in self.rules:
                if all(w in prompt for w in rule.when) and (rule.times is None or rule.used < rule.times):
                    rule.used += 1
                    answer = rule.answer
                    break
            else:
                answer = self.default_answer
        return answer(prompt, request) if callable(answer) else answer

    # ------------------------------------------------------------------ server
    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def handler_class(self) -> type[QuietHandler]:
        stub = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    send_body(self, 200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
                else:
                    send_body(self, 404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                if self.path.rstrip("/").endswith("/audio/transcriptions"):
                    self.transcribe()
                    return
                try:
                    request = json.loads(self.read_body() or b"{}")
                except ValueError:
                    send_body(self, 400, {"error": {"message": "invalid json"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    send_body(self, 404, {"error": {"message": f"no route {self.path}"}})
                    return
                with stub._lock:
                    stub.requests.append(request)
                    failing = stub.fail_always or stub.fail_next > 0
                    if stub.fail_next > 0:
                        stub.fail_next -= 1
                if stub.latency_s:
                    time.sleep(stub.latency_s)
                if failing:
                    send_body(self, stub.fail_status, {"error": {"message": "stub failure", "type": "server_error"}})
                    return
                answer = stub._answer(stub.prompt_text(request), request)
                if isinstance(answer, dict) and answer.get("tool_calls"):
                    message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [
                        {"id": "call_" + uuid.uuid4().hex[:10], "type": "function",
                         "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))}}
                        for c in answer["tool_calls"]]}
                    finish = "tool_calls"
                else:
                    message, finish = {"role": "assistant", "content": str(answer)}, "stop"
                usage = stub.count_usage(request, message)
                send_body(self, 200, {
                    "id": "chatcmpl-" + uuid.uuid4().hex[:12],
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": request.get("model", "stub"),
                    "choices": [{"index": 0, "finish_reason": finish, "message": message}],
                    "usage": usage,
                })

            def transcribe(self) -> None:
                form = _multipart(self.headers.get("Content-Type", ""), self.read_body())
                upload = form.get("file")
                if upload is None or not upload[1]:
                    send_body(self, 400, {"error": {"message": "file is required"}})
                    return
                with stub._lock:
                    stub.transcriptions.append((form.get("model", ("", b""))[1].decode(), upload[0], len(upload[1])))
                    failing = stub.fail_always or stub.fail_next > 0
                    if stub.fail_next > 0:
                        stub.fail_next -= 1
                if failing:
                    send_body(self, stub.fail_status, {"error": {"message": "stub failure", "type": "server_error"}})
                    return
                send_body(self, 200, {"text": stub.transcript})

        return Handler


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    """name -> (file name, bytes) of a multipart/form-data body (what the openai SDK sends)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str):
            parts[name] = (part.get_filename() or "", payload if isinstance(payload, bytes) else b"")
    return parts
