"""Sparse keyword vectors for pt-BR: accent-folded, stemmed Portuguese tokens with BM25 term weights.

MiniLM (the offline dense model) is English; Portuguese questions share few dense neighbours with Portuguese answers.
Exact stems carry what the dense model misses ("devolução" ~ "devolver" ~ "devolucao"). Documents get BM25's
saturated term frequency; Qdrant multiplies by IDF (`Modifier.IDF`) at query time, so the statistics stay current.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import zlib
from collections import Counter
from functools import lru_cache
from typing import Any

K1 = 1.2
B = 0.75
AVG_DOC_TOKENS = 60.0

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

# Function words that only add noise to a keyword match (folded, lower case). Negations stay: "não" matters.
_STOPWORD_TEXT = """
a o as os um uma uns umas de do da dos das no na nos nas ao aos em por pelo pela pelos pelas para pra pro
com sem sob sobre entre ate apos e ou mas se que quem qual quais cujo como onde quando porque pois entao
eu tu ele ela nos vos eles elas voce voces me te lhe lhes meu minha meus minhas seu sua seus suas nosso nossa
este esta estes estas esse essa esses essas isto isso aquilo aquele aquela aqui ali la
ser sou e era foi sao estar estou esta estao ter tenho tem temos tinha ha haver vai vou
mais muito muita muitos muitas ja tambem so bem
o que qual oi ola bom dia boa tarde noite por favor obrigado obrigada gostaria queria quero saber
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import py_rust_stemmers  # comes with fastembed; a Snowball stemmer in Rust

    return py_rust_stemmers.SnowballStemmer("portuguese")


def fold(text: str) -> str:
    """Lower case without accents: "Promoção" -> "promocao"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# Customers often type without accents; put back the endings Snowball needs to recognise the suffix.
_RESTORE = (("coes", "ções"), ("cao", "ção"), ("soes", "sões"), ("sao", "são"))


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """The folded Portuguese stem of one folded word; accented and unaccented spellings meet."""
    restored = word
    for plain, accented in _RESTORE:
        if word.endswith(plain) and len(word) > len(plain) + 2:
            restored = word[: -len(plain)] + accented
            break
    with _lock:
        stemmed = fold(_stemmer().stem_word(restored))
    # Snowball leaves "promoçã"/"promoçõ" for -ção words it has no rule for: strip the residue.
    if restored != word or word.endswith(("cao", "coes")):
        for residue in ("coes", "cao", "co", "ca", "c"):
            if stemmed.endswith(residue) and len(stemmed) - len(residue) >= 3:
                stemmed = stemmed[: -len(residue)]
                break
    return stemmed


def tokens(text: str) -> list[str]:
    """Stems of the words of `text`, in order, stopwords and one-letter words dropped. Numbers are kept ("fps 50")."""
    out = []
    for word in _TOKEN.findall(fold(text)):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        out.append(word if word.isdigit() else stem(word))
    return out


def token_index(token: str) -> int:
    """A stable 31-bit dimension per stem (no vocabulary to keep in sync between processes)."""
    return zlib.crc32(token.encode()) & 0x7FFFFFFF


def document_vector(text: str) -> tuple[list[int], list[float]]:
    """BM25 term weights (without IDF, which Qdrant applies) of a document."""
    words = tokens(text)
    counts = Counter(token_index(t) for t in words)
    length = max(len(words), 1)
    norm = K1 * (1 - B + B * length / AVG_DOC_TOKENS)
    indices = sorted(counts)
    return indices, [counts[i] * (K1 + 1) / (counts[i] + norm) for i in indices]


def query_vector(text: str) -> tuple[list[int], list[float]]:
    """Each distinct query stem weighs 1; Qdrant multiplies by its IDF."""
    indices = sorted({token_index(t) for t in tokens(text)})
    return indices, [1.0] * len(indices)
