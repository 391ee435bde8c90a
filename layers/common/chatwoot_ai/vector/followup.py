"""Follow-ups: a message that cannot stand alone ("e quanto custa?", "e para o interior?", "e pra gato?") is searched
together with the customer's previous message, which names what it is about. A message that names its subject
itself ("qual o prazo de troca?") is searched alone: the previous one would only blur it.
"""

from __future__ import annotations

from chatwoot_ai.vector import sparse

# How a follow-up starts when typed (folded, lower case): "e ...", "mas ...", "também ...", "tem com ...".
_LEADS = ("e ", "e,", "mas ", "tambem ", "tb ", "tbm ", "entao ", "ai ", "so que ", "tem com ")
# A message made only of these words asks about something named before ("quanto custa?", "quanto tempo dura?",
# "precisa de algum preparo antes?"); one more word ("vermifugo pra cachorro") and it stands alone.
_GENERIC = """quanto quantos custa custo preco valor fica sai dura duracao tempo prazo demora precisa preciso preparo
antes depois pode posso serve funciona onde quando tem disponivel estoque algum alguma isso esse essa dele dela
disso nele nela ainda mesmo"""


def _generic_stems() -> frozenset[str]:
    return frozenset(sparse.tokens(_GENERIC))


def needs_context(text: str) -> bool:
    folded = sparse.fold(text).strip().lstrip("¿¡.,!?- ")
    if folded.startswith(_LEADS) or folded in ("e", "e?"):
        return True
    return set(sparse.tokens(text)) <= _generic_stems()


def contextual_query(text: str, previous: str | None) -> str:
    """The text to search for this message: the previous customer message first when this one needs it."""
    if previous and previous.strip() and needs_context(text):
        return f"{previous.strip()} {text.strip()}"
    return text
