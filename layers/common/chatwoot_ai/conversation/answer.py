"""The answer without a model: what a customer reads when the tenant has no LLM, when the LLM fails, when a budget is
spent, or when a grounding check rejects the LLM's reply.

- Small talk (greetings, thanks, goodbyes, "are you a bot?") gets a short reply in the tenant's language, decided by
  keywords: no search, no model.
- A question gets the sentences of the best public hit that match it (extractive), a product with its name and price
  together, one topic; nothing internal (`visibility: internal` in a record's metadata) is ever quoted.
- Nothing clears the retrieval gate: None, and the caller hands off with the tenant's "let me check" message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chatwoot_ai.conversation.prompts import normalize
from chatwoot_ai.conversation.retrieval import Hit, is_internal

# Small talk, as whole normalised messages (accents and case ignored, punctuation stripped).
_SMALL_TALK: dict[str, tuple[str, ...]] = {
    "greeting": ("oi", "ola", "oie", "oii", "bom dia", "boa tarde", "boa noite", "opa", "e ai", "tudo bem",
                 "oi tudo bem", "ola tudo bem", "hola", "buenos dias", "hello", "hi", "hey", "good morning"),
    "thanks": ("obrigado", "obrigada", "obg", "valeu", "muito obrigado", "muito obrigada", "brigado", "brigada",
               "gracias", "thanks", "thank you", "obrigado pela ajuda", "obrigada pela ajuda", "ok obrigado",
               "ok obrigada", "perfeito obrigado", "perfeito obrigada"),
    "goodbye": ("tchau", "ate mais", "ate logo", "adeus", "falou", "bye", "goodbye", "adios", "ate amanha"),
    "bot": ("voce e um robo", "voces sao um robo", "e um robo", "e robo", "sao robo", "voce e robo",
            "estou falando com um robo", "sao voces um robo", "voces sao robos", "sao voces robos",
            "e uma pessoa", "voce e humano", "e um bot", "are you a bot",
            "are you a robot", "eres un robot"),
}

SMALL_TALK_REPLIES: dict[str, dict[str, str]] = {
    "pt": {
        "greeting": "Olá{name}! Sou {assistant}, assistente da {company}. Como posso ajudar?",
        "thanks": "Por nada{name}! Se precisar de mais alguma coisa, é só chamar.",
        "goodbye": "Até logo{name}! A {company} agradece o contato.",
        "bot": "Sou {assistant}, a assistente virtual da {company}. Se preferir falar com uma pessoa da equipe, "
               "é só pedir.",
    },
    "es": {
        "greeting": "¡Hola{name}! Soy {assistant}, asistente de {company}. ¿En qué puedo ayudar?",
        "thanks": "¡De nada{name}! Si necesitas algo más, aquí estoy.",
        "goodbye": "¡Hasta luego{name}! {company} agradece tu contacto.",
        "bot": "Soy {assistant}, la asistente virtual de {company}. Si prefieres hablar con una persona, pídelo.",
    },
    "en": {
        "greeting": "Hello{name}! I'm {assistant}, {company}'s assistant. How can I help?",
        "thanks": "You're welcome{name}! Anything else, just ask.",
        "goodbye": "Goodbye{name}! Thanks for contacting {company}.",
        "bot": "I'm {assistant}, {company}'s virtual assistant. If you prefer a person from the team, just ask.",
    },
}
CHECK_WITH_TEAM = {
    "pt": "Vou verificar com a equipe e já te retorno.",
    "es": "Voy a verificarlo con el equipo y te respondo enseguida.",
    "en": "Let me check with the team and get back to you.",
}

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(normalize(w) for w in """
a o as os um uma uns umas de da do das dos em no na nos nas para pra pro por com sem que qual quais e ou se me
te voce voces vcs tem têm ter ha eu meu minha seu sua ser sao é esta estao isso esse essa este esta aqui ai ja
nao sim como quando onde quero queria gostaria saber pode podem posso vou mais muito pouco tambem ate the is
are do you of to and or in on for what how oi ola bom dia tarde noite favor obrigado obrigada
""".split())  # noqa: SIM905
# Questions about a quantity (a deadline, a price, how many): a sentence with a number answers them better.
_NUMBER_WORDS = frozenset(w[:5] for w in ("prazo", "quanto", "quantos", "quantas", "dias", "horas", "tempo", "valor",
                                          "preco", "custa", "antecedencia", "minimo", "maximo"))
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-ÖØ-Þ0-9*\"'(])")


def language_code(language: str) -> str:
    code = (language or "pt").split("-")[0].lower()
    return code if code in SMALL_TALK_REPLIES else "pt"


def small_talk(messages: Iterable[str]) -> str | None:
    """The kind of small talk when every new message is small talk (the last one's kind), else None."""
    kind = None
    for message in messages:
        text = " ".join(_WORD.findall(normalize(message)))
        if not text:
            continue
        found = next((k for k, phrases in _SMALL_TALK.items() if text in phrases), None)
        if found is None:
            return None
        kind = found
    return kind


def small_talk_reply(kind: str, language: str, assistant: str, company: str, customer_name: str | None) -> str:
    first = (customer_name or "").strip().split(" ")[0]
    name = f", {first}" if first and kind != "bot" else ""
    return SMALL_TALK_REPLIES[language_code(language)][kind].format(name=name, assistant=assistant, company=company)


def check_with_team(language: str) -> str:
    return CHECK_WITH_TEAM[language_code(language)]


def is_public(hit: Hit) -> bool:
    return not is_internal(hit)


def _terms(text: str) -> set[str]:
    """Content words, cut to 5 letters so "entregas"/"entrega" and "protetor"/"protetores" meet."""
    return {w[:5] for w in _WORD.findall(normalize(text)) if w not in _STOP and (len(w) > 2 or w.isdigit())}


def sentences(text: str) -> list[str]:
    """Whole sentences, list numbering off; fragments of under three words (a chunk's cut edge) left out."""
    flat = re.sub(r"\s+", " ", text.replace("\n", ". ")).strip()
    out = (re.sub(r"^(?:\d{1,2}[.)]|[-•*])\s+", "", s.strip()) for s in _SENTENCE_END.split(flat))
    return [s for s in out if len(s.strip(" .").split()) >= 3]


def _product_line(hit: Hit) -> str | None:
    name, price = hit.metadata.get("name"), hit.metadata.get("price")
    if not name or not isinstance(price, int | float) or hit.collection != "products":
        return None
    return f"*{name}*: R$ " + f"{price:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".") + "."


def extractive_answer(hits_by_collection: dict[str, list[Hit]], question: str, max_sentences: int = 2,
                      max_chars: int = 600) -> str | None:
    """The sentences of the best public hit that answer `question`; None when no public hit cleared the gate."""
    ranked = sorted((h for hits in hits_by_collection.values() for h in hits if is_public(h)),
                    key=lambda h: h.score, reverse=True)
    if not ranked:
        return None
    asked = _terms(question)
    best = ranked[0]
    # A near tie: the hit that shares the most words with the question is the topic.
    close = [h for h in ranked if h.score >= best.score - 0.05]
    best = max(close, key=lambda h: (len(asked & _terms(h.text)), h.score))
    name = str(best.metadata.get("name") or "")
    # A long document comes back as several chunks of one record: their sentences together, the best chunk first.
    same = [h for h in ranked if h is best or (name and h.collection == best.collection
                                                and h.metadata.get("name") == name)]
    parts = list(dict.fromkeys(s for h in same for s in sentences(h.text)))
    if name and len(parts) > 1 and normalize(parts[0]).strip(" .") == normalize(name).strip(" ."):
        parts = parts[1:]  # the record's title: the sentences after it say what it is
    if not parts:
        return None
    product = _product_line(best)
    wants_number = bool(asked & _NUMBER_WORDS)
    if product:  # the product line answers its name and price: the other sentences must answer something else
        asked = asked - _terms(name) - _NUMBER_WORDS
        wants_number = False

    def weight(index: int) -> tuple[int, int]:
        sentence = parts[index]
        score = len(asked & _terms(sentence)) + (1 if wants_number and re.search(r"\d", sentence) else 0)
        return (-score, index)

    chosen: list[int] = []
    for index in sorted(range(len(parts)), key=weight):
        if len(chosen) >= max_sentences:
            break
        if parts[index].startswith(("Categoria:", "Palavras-chave:")):
            continue
        if product and parts[index].startswith("Preço:"):
            continue  # the product line states the price
        if chosen and weight(index)[0] == 0:
            break
        chosen.append(index)
    if not chosen:
        chosen = [0]  # the first sentence after the title: what the record is
    if not product and not any(asked & _terms(parts[i]) for i in chosen):
        return None  # the gate let the record through, but none of its sentences is about the question
    body = [parts[i].rstrip(" .") + (parts[i].rstrip()[-1] if parts[i].rstrip()[-1] in "!?" else ".")
            for i in sorted(chosen)]
    if product:
        body.insert(0, product)
    text = " ".join(body)
    while len(text) > max_chars and len(body) > 1:
        body.pop()
        text = " ".join(body)
    return text
