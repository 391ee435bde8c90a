"""Doubles of the outside systems, each an HTTP server on 127.0.0.1 with a free port: Chatwoot's REST API
(`ChatwootStub`), an OpenAI-compatible LLM (`LlmStub`) and Odoo's XML-RPC and JSON-2 (`OdooDouble`)."""

from devtools.doubles.chatwoot import ChatwootStub
from devtools.doubles.llm import LlmStub, tool_call
from devtools.doubles.odoo import OdooDouble

__all__ = ["ChatwootStub", "LlmStub", "OdooDouble", "tool_call"]
