"""The Hub: which crew serves a conversation. One crew shape per channel (WhatsApp, Instagram, web widget, e-mail,
API), each with its formatting rules from channels.yaml and the tenant's overrides, built by the Crew Factory with
only the agents the tenant enabled."""

from __future__ import annotations

from chatwoot_ai.conversation.crew import CrewFactory, CrewPlan
from chatwoot_ai.conversation.prompts import channel_profile
from chatwoot_ai.models import CHANNELS, TenantConfig


class Hub:
    def __init__(self, factory: CrewFactory) -> None:
        self.factory = factory

    def crew_for(self, config: TenantConfig, channel: str) -> CrewPlan:
        channel = channel if channel in CHANNELS else "api"
        profile = channel_profile(channel, config.channels)
        return self.factory.plan(config, channel, profile)
