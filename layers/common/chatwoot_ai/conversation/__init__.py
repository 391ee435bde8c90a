"""The conversation's domain code: the receiver's intake (intake, chatwoot_events), the queued job, history,
debounce, the worker's pipeline, the crew (crew: plan → specialists → decide → compose; agents: agents.yaml and
tasks.yaml; intention; handoff: every rule that hands a conversation to a human) and its retrieval and MCP tools.

Nothing here imports crewai at module level: the receiver imports `intake`, `queue_job` and `history`, and must
cold-start light.
"""
