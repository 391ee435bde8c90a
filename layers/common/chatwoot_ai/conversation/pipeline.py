"""One queued customer message through the pipeline: state checks, debounce, the channel's crew, reply or handoff.

Returns an outcome string for logs and tests; raises only for what a retry can fix (AWS or Chatwoot unavailable), so
the SQS redrive policy retries it and parks it in the DLQ after three tries.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from chatwoot_ai.chatwoot import ChatwootClient, ChatwootError, ReplyLedger, send_once
from chatwoot_ai.conversation.answer import check_with_team
from chatwoot_ai.conversation.attachments import AttachmentReader, Understood
from chatwoot_ai.conversation.crew import CrewFactory, CrewPlan, CrewResult, Turn
from chatwoot_ai.conversation.debounce import wait_for_quiet
from chatwoot_ai.conversation.economy import TurnUsage, emit_metrics
from chatwoot_ai.conversation.handoff import HandoffDecision, no_answer, note_text, requested_by_keywords
from chatwoot_ai.conversation.history import HistoryStore, conversation_pk
from chatwoot_ai.conversation.history import Turn as HistoryTurn
from chatwoot_ai.conversation.hours import out_of_hours, zone
from chatwoot_ai.conversation.prompts import format_reply
from chatwoot_ai.conversation.queue_job import ConversationJob, read_unread, turn_text, unread_attachments
from chatwoot_ai.conversation.trace import build_trace, emit_turn_metrics
from chatwoot_ai.models import Credentials, TenantConfig
from chatwoot_ai.observability import logger


class ConfigSource(Protocol):
    def config(self, tenant_id: str, domain: str = "default") -> Any: ...
    def credentials(self, tenant_id: str, domain: str = "default") -> Any: ...


@dataclass
class PipelineSettings:
    debounce_s: float = 2.0
    debounce_max_s: float = 12.0
    history_turns: int = 12


ChatwootFactory = Callable[[str, str], ChatwootClient]


@dataclass
class TurnOutcome:
    """What a turn comes to before anything is sent: the reply's messages, or the handoff's decision."""

    plan: CrewPlan | None
    result: CrewResult | None
    parts: list[str]  # the reply as the channel gets it (empty: a handoff)
    decision: HandoffDecision | None


def decide_turn(crews: CrewFactory, config: TenantConfig, tenant_id: str, domain: str, channel: str,
                identified: bool, turn: Turn, llm_api_key: str | None, budget: TurnUsage) -> TurnOutcome:
    """The customer's words (a human, please), else the channel's crew: what the worker sends and the playground
    shows (chatwoot_ai.routes.insights), computed the same way."""
    decision = requested_by_keywords(turn.messages, config.handoff.keywords)
    if decision is not None:
        return TurnOutcome(None, None, [], decision)
    plan = crews.plan(config, channel, identified=identified)
    result = crews.run(plan, config, tenant_id, domain, turn, llm_api_key, budget)
    if result.answer and result.handoff is None:
        return TurnOutcome(plan, result, format_reply(result.answer, plan.profile, config.assistant.emoji_usage),
                           None)
    return TurnOutcome(plan, result, [], result.handoff or no_answer())


def turn_budget(config: TenantConfig, tenant_id: str, day_usage: Callable[[str, str], tuple[int, int]]) -> TurnUsage:
    """The turn's caps: the tenant's per-turn budget, and none at all once its day's budget is spent."""
    llm = config.llm
    if llm is None:
        return TurnUsage()
    usage = TurnUsage(llm.max_calls_per_turn, llm.max_tokens_per_turn)
    if llm.max_calls_per_day is not None or llm.max_tokens_per_day is not None:
        calls, tokens = day_usage(tenant_id, _today())
        if (llm.max_calls_per_day is not None and calls >= llm.max_calls_per_day) or \
                (llm.max_tokens_per_day is not None and tokens >= llm.max_tokens_per_day):
            logger.info("daily LLM budget spent; answering without a model", extra={"tenant_id": tenant_id})
            usage.max_calls = 0
        elif llm.max_calls_per_day is not None:
            left = llm.max_calls_per_day - calls
            usage.max_calls = left if usage.max_calls is None else min(usage.max_calls, left)
    return usage


def handoff_message(config: TenantConfig, decision: HandoffDecision, now: datetime) -> tuple[str, HandoffDecision]:
    """What the customer hears on a handoff (out of business hours: also when the team is back), and the decision
    with the hours added to its detail."""
    closed = out_of_hours(config.business_hours, config.company.timezone, config.company.language, now)
    message = config.handoff.message.strip()
    if decision.reason == "no_answer":  # nothing in the tenant's data answers: "let me check with the team"
        message = config.handoff.no_answer_message or check_with_team(config.company.language)
    if closed is not None:
        message = " ".join(p for p in (message, closed[0]) if p)
        decision = dataclasses.replace(decision, detail="; ".join(p for p in (decision.detail, closed[1]) if p))
    return message, decision


class ConversationPipeline:
    def __init__(self, configs: ConfigSource, history: HistoryStore, ledger: ReplyLedger, crews: CrewFactory,
                 chatwoot_factory: ChatwootFactory, settings: PipelineSettings | None = None,
                 sleep: Callable[[float], None] = time.sleep, attachments: AttachmentReader | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.configs = configs
        self.history = history
        self.ledger = ledger
        self.crews = crews
        self.chatwoot_factory = chatwoot_factory
        self.settings = settings or PipelineSettings()
        self.sleep = sleep
        self.attachments = attachments or AttachmentReader()
        self.clock = clock

    def process(self, job: ConversationJob) -> str:
        log = {"tenant_id": job.tenant_id, "conversation_id": job.conversation_id, "message_id": job.message_id}
        pk = conversation_pk(job.tenant_id, job.account_id, job.conversation_id)
        config: TenantConfig | None = self.configs.config(job.tenant_id, job.domain)
        if config is None or not config.enabled:
            logger.info("tenant not configured or disabled; not answering", extra=log)
            return "skipped:disabled"
        state = self.history.state(pk)
        if state.answered_through and state.answered_through >= job.turn_key:
            return "skipped:answered"
        if state.human_takeover and self._takeover_idle(config, state.takeover_at):
            self.history.set_takeover(pk, False, "no human reply within handoff.takeover_idle_minutes")
            logger.info("human takeover idle; the bot answers again", extra=log)
        elif state.human_takeover:
            if job.conversation_status != "pending":
                logger.info("a human has the conversation; not answering", extra=log)
                # The human answers these; the bot must not pick them up when the conversation comes back to it.
                self.history.mark_answered(pk, job.turn_key)
                return "skipped:human"
            self.history.set_takeover(pk, False, "conversation pending again")
        self.crews.prewarm(config)  # crewai's import, if this tenant's turns may need it, during the debounce
        # The receiver wrote this turn already; writing it again (same item) closes the race with a fast poller.
        self.history.add_turn(pk, "customer", turn_text(job), job.message_id, job.received_at_ms,
                              unread_attachments(job))
        self._touch(job, pk, job.received_at_ms)
        turns = wait_for_quiet(self.history, pk, state.answered_through, quiet_s=self.settings.debounce_s,
                               max_wait_s=self.settings.debounce_max_s, sleep=self.sleep)
        if not turns:
            return "skipped:answered"
        credentials: Credentials | None = self.configs.credentials(job.tenant_id, job.domain)
        kinds = [a.file_type for t in turns if t.attachments for a in read_unread(t.attachments)[1]]
        turns, understood = self._read_attachments(pk, turns, config, credentials)
        last = turns[-1]
        messages = [t.content for t in turns if t.content.strip()]
        client = self._client(config, credentials)
        if client is None:
            logger.error("no Chatwoot base_url or api token for the tenant; cannot reply", extra=log)
            return "failed:no_chatwoot"
        try:
            if not state.answered_through and config.assistant.greeting.strip():
                # The conversation's first turn: the greeting once, whatever comes after it.
                self._post(client, job, pk, "conversation", "greeting", config.assistant.greeting.strip())
            self._attachment_replies(client, job, config, pk, last.message_id, understood)
            if not messages:  # nothing readable at all: the notice was the answer, or a human reads it
                if config.handoff.on_unreadable_attachment:
                    unreadable = HandoffDecision("attachment", f"unreadable: {', '.join(understood.unreadable)}")
                    self._handoff(client, job, config, pk, last.message_id, unreadable,
                                  [f"[{kind}]" for kind in understood.unreadable])
                    self.history.mark_answered(pk, last.sk)
                    self._trace(job, config, pk, last, build_trace(
                        channel=job.channel, messages=[], plan=None, result=None, decision=unreadable,
                        attachments=kinds, unreadable=understood.unreadable))
                    return "handoff:attachment"
                self.history.mark_answered(pk, last.sk)
                return "answered:attachment_notice"
            outcome = self._decide(job, config, credentials, pk, turns)
            usage = self._account(job.tenant_id, outcome.result, log) if outcome.result is not None else None
            if outcome.decision is None and outcome.result is not None and outcome.plan is not None:
                result, parts = outcome.result, outcome.parts
                self._reply(client, job, pk, last.message_id, parts)
                self.history.add_turn(pk, "assistant", "\n\n".join(parts), f"r{last.message_id}", _now_ms(),
                                      usage=usage)
                self.history.mark_answered(pk, last.sk)
                logger.info("answered", extra={**log, "turns": len(turns), "llm": result.used_llm,
                                               "crew_s": round(result.elapsed_s, 3), "messages": len(parts),
                                               "steps": result.steps})
                self._trace(job, config, pk, last, build_trace(
                    channel=job.channel, messages=messages, plan=outcome.plan, result=result, decision=None,
                    attachments=kinds, unreadable=understood.unreadable, reply_ms=_now_ms() - last.at_ms))
                return f"answered:{len(turns)}"
            decision = outcome.decision or no_answer()
            decision = self._handoff(client, job, config, pk, last.message_id, decision, messages)
            self.history.mark_answered(pk, last.sk)
            logger.info("handed off", extra={**log, "reason": decision.reason})
            self._trace(job, config, pk, last, build_trace(
                channel=job.channel, messages=messages, plan=outcome.plan, result=outcome.result, decision=decision,
                attachments=kinds, unreadable=understood.unreadable, reply_ms=_now_ms() - last.at_ms))
            return f"handoff:{decision.reason}"
        except ChatwootError as exc:
            if exc.maybe_delivered or (exc.status is not None and exc.status < 500 and exc.status != 429):
                # Retrying cannot help (refused) or could duplicate (maybe delivered): stop here, loudly.
                logger.error("Chatwoot refused or may have stored the reply; not retrying",
                             extra={**log, "status": exc.status})
                self.history.mark_answered(pk, last.sk)
                return "failed:chatwoot"
            raise
        finally:
            client.close()

    def _decide(self, job: ConversationJob, config: TenantConfig, credentials: Credentials | None, pk: str,
                turns: list[Any]) -> TurnOutcome:
        earlier = self.history.turns(pk, limit=self.settings.history_turns + len(turns))
        first_new = turns[0].sk
        history = [(t.role, t.content) for t in earlier if t.sk < first_new]
        turn = Turn(messages=[t.content for t in turns if t.content.strip()],
                    history=history[-self.settings.history_turns:],
                    customer_name=job.sender_name, customer=job.customer)
        api_key = credentials.llm_api_key.get_secret_value() if credentials and credentials.llm_api_key else None
        return decide_turn(self.crews, config, job.tenant_id, job.domain, job.channel, job.identified, turn, api_key,
                           turn_budget(config, job.tenant_id, self.history.day_usage))

    def _touch(self, job: ConversationJob, pk: str, at_ms: int) -> None:
        try:
            self.history.touch(pk, job.tenant_id, job.account_id, job.conversation_id, job.channel, at_ms)
        except Exception:  # the listing must never cost a reply
            logger.warning("could not update the conversation's listing", exc_info=True,
                           extra={"tenant_id": job.tenant_id, "conversation_id": job.conversation_id})

    def _trace(self, job: ConversationJob, config: TenantConfig, pk: str, last: HistoryTurn,
               trace: dict[str, Any]) -> None:
        """The turn's trace, stored with the history and emitted as metrics; a failure here costs no reply."""
        emit_turn_metrics(trace, job.tenant_id)
        try:
            now = _now_ms()
            self.history.add_trace(pk, job.tenant_id, last.message_id, now, trace, config.insights.trace_ttl_days,
                                   local_day(now, config.company.timezone))
        except Exception:
            logger.warning("could not store the turn's trace", exc_info=True,
                           extra={"tenant_id": job.tenant_id, "conversation_id": job.conversation_id})
        self._touch(job, pk, _now_ms())

    def _account(self, tenant_id: str, result: CrewResult, log: dict[str, Any]) -> dict[str, Any]:
        """The turn's LLM use: logged, added to the tenant's day, emitted as metrics; stored with the reply."""
        summary = {**result.usage.summary(), "steps": result.steps, "crew_ms": round(result.elapsed_s * 1000)}
        logger.info("turn usage", extra={**log, **summary})
        if result.usage.calls:
            self.history.add_day_usage(tenant_id, _today(), result.usage.call_count, result.usage.tokens)
            emit_metrics(result.usage, tenant_id)
        return summary

    def _client(self, config: TenantConfig, credentials: Credentials | None) -> ChatwootClient | None:
        token = credentials.chatwoot_api_access_token if credentials else None
        if config.chatwoot is None or token is None or not token.get_secret_value():
            return None
        return self.chatwoot_factory(config.chatwoot.base_url, token.get_secret_value())

    def _reply(self, client: ChatwootClient, job: ConversationJob, pk: str, source_id: str, parts: list[str]) -> None:
        """One message per part, each sent at most once (a retry sends only what is missing)."""
        for index, text in enumerate(parts):
            self._post(client, job, pk, source_id, "reply" if index == 0 else f"reply{index + 1}", text)

    def _post(self, client: ChatwootClient, job: ConversationJob, pk: str, source_id: str, kind: str,
              text: str) -> None:
        """A public message, sent once; its text and then its id are recorded, so an account webhook's echo of it
        (an outgoing message from the agent whose token the bot uses) is not taken for a human taking over."""

        def send() -> dict[str, Any]:
            self.history.expect_echo(pk, text)
            answer = client.send_message(job.account_id, job.conversation_id, text)
            self.history.record_posted(pk, answer.get("id"))
            return answer

        send_once(self.ledger, pk, source_id, kind, send)

    # ------------------------------------------------------------------ attachments, hours, takeover
    def _read_attachments(self, pk: str, turns: list[HistoryTurn], config: TenantConfig,
                          credentials: Credentials | None) -> tuple[list[HistoryTurn], Understood]:
        """Every turn of the burst that carries attachments is read (transcribed, seen, or noted as unreadable) and
        rewritten with what it said; the notices and transcripts of them all come back together."""
        token = credentials.chatwoot_api_access_token if credentials else None
        api_key = credentials.llm_api_key if credentials else None
        together, out = Understood(""), []
        for turn in turns:
            if not turn.attachments:
                out.append(turn)
                continue
            content, items = read_unread(turn.attachments)
            understood = self.attachments.understand(content, items, config,
                                                     token.get_secret_value() if token else None,
                                                     api_key.get_secret_value() if api_key else None)
            # The attachments stay on the turn until it is answered: a retry after a failed notice reads them again.
            self.history.add_turn(pk, "customer", understood.text, turn.message_id, turn.at_ms, turn.attachments)
            out.append(dataclasses.replace(turn, content=understood.text))
            together.notices.extend(understood.notices)
            together.transcripts.extend(understood.transcripts)
            together.unreadable.extend(understood.unreadable)
        return out, together

    def _attachment_replies(self, client: ChatwootClient, job: ConversationJob, config: TenantConfig, pk: str,
                            source_id: str, understood: Understood) -> None:
        """What could not be read is said to the customer; a voice note's transcript goes to the agents."""
        if understood.notices:
            self._post(client, job, pk, source_id, "attachment_notice", " ".join(understood.notices))
        if understood.transcripts:
            send_once(self.ledger, pk, source_id, "transcript_note", lambda: client.private_note(
                job.account_id, job.conversation_id, understood.note(config.company.language)))

    def _takeover_idle(self, config: TenantConfig, takeover_at: int) -> bool:
        idle = config.handoff.takeover_idle_minutes
        return bool(idle and takeover_at and self.clock() - takeover_at >= idle * 60)

    def _handoff(self, client: ChatwootClient, job: ConversationJob, config: TenantConfig, pk: str,
                 source_id: str, decision: HandoffDecision, messages: list[str]) -> HandoffDecision:
        """The customer hears the tenant's handoff message; agents read why in a private note; the conversation
        opens for humans, and the bot stays out of it until it is pending again. The takeover is recorded last, so
        a retry after a failure here finishes the handoff (each call is sent at most once). Out of business hours
        the customer also hears when the team is back, and the note says so."""
        message, decision = handoff_message(config, decision, datetime.fromtimestamp(self.clock(), UTC))
        if message:
            self._post(client, job, pk, source_id, "handoff_message", message)
            self.history.add_turn(pk, "assistant", message, f"h{source_id}", _now_ms())
        note = note_text(decision, messages, config.company.language)
        send_once(self.ledger, pk, source_id, "handoff_note",
                  lambda: client.private_note(job.account_id, job.conversation_id, note))
        send_once(self.ledger, pk, source_id, "toggle_open",
                  lambda: client.toggle_status(job.account_id, job.conversation_id, "open"))
        self.history.set_takeover(pk, True, f"handoff: {decision.reason}")
        return decision


def local_day(at_ms: int, timezone: str) -> str:
    """YYYY-MM-DD of `at_ms` in the tenant's timezone."""
    return datetime.fromtimestamp(at_ms / 1000, zone(timezone)).date().isoformat()


def _today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


def _now_ms() -> int:
    return int(time.time() * 1000)
