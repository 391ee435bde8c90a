"""The pt-BR retrieval evaluation: the demo store's records (devtools.demo_store), and questions a customer would ask,
each with the record that answers it. Used by tests/integration/test_vectorize_eval.py and
bench/bench_vectorize.py. Questions are written the way people type: informal, sometimes without accents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from devtools.demo_store import corpus, document_records, product_records, rule_records

__all__ = ["QUESTIONS", "EvalResult", "Question", "corpus", "document_records", "evaluate", "product_records",
           "rule_records"]

@dataclass(frozen=True)
class Question:
    collection: str
    text: str
    expected: str  # the record id that answers it


QUESTIONS: tuple[Question, ...] = (
    # products
    Question("products", "vocês têm algum sabonete pra pele seca?", "3"),
    Question("products", "qual gel de limpeza serve pra pele oleosa?", "1"),
    Question("products", "tem protetor solar com cor?", "11"),
    Question("products", "quanto custa o serum de vitamina c?", "7"),
    Question("products", "tem retinol pra diminuir rugas?", "9"),
    Question("products", "mascara de argila verde pra oleosidade", "13"),
    Question("products", "hidratante facial pra pele sensivel irritada", "6"),
    Question("products", "protetor solar oil free pra quem tem pele oleosa", "12"),
    Question("products", "espuma de limpeza suave pra pele sensível", "2"),
    Question("products", "tem algum creme com ácido hialurônico e ceramidas?", "4"),
    Question("products", "máscara esfoliante com AHA", "15"),
    Question("products", "quero um sérum de ácido hialurônico", "8"),
    Question("products", "hidratante que controla o brilho e reduz os poros", "5"),
    Question("products", "quanto custa a limpeza de pele profunda?", "s1"),
    Question("products", "vocês fazem peeling de diamante?", "s2"),
    Question("products", "tem drenagem linfatica?", "s5"),
    Question("products", "quero marcar uma massagem relaxante", "s8"),
    Question("products", "tratamento pra celulite, quanto fica?", "s6"),
    Question("products", "massagem com pedras quentes", "s10"),
    Question("products", "microagulhamento melhora cicatriz de acne?", "s4"),
    # business rules
    Question("business_rules", "tem desconto na primeira compra?", "1"),
    Question("business_rules", "ganho desconto no mês do meu aniversário?", "2"),
    Question("business_rules", "como funciona o acúmulo de pontos?", "3"),
    Question("business_rules", "se eu comprar 4 unidades do mesmo produto tenho desconto?", "10"),
    Question("business_rules", "cobra multa se eu cancelar em cima da hora?", "8"),
    Question("business_rules", "os equipamentos são esterilizados?", "12"),
    Question("business_rules", "gravida pode fazer radiofrequencia?", "15"),
    Question("business_rules", "o que devo evitar antes do procedimento?", "16"),
    Question("business_rules", "tem garantia na coloração?", "17"),
    Question("business_rules", "o que recomendam pra pele oleosa?", "4"),
    # support documents
    Question("support_documents", "qual o prazo pra devolver um produto?", "1"),
    Question("support_documents", "como faço pra cancelar meu agendamento?", "2"),
    Question("support_documents", "como funciona o programa beautypoints?", "3"),
    Question("support_documents", "tive uma reação alérgica depois do procedimento, o que faço?", "4"),
    Question("support_documents", "vocês fazem promoção na black friday?", "5"),
    Question("support_documents", "o produto veio com defeito, tem garantia?", "7"),
    Question("support_documents", "vocês vendem produtos manipulados?", "9"),
    Question("support_documents", "sou idoso, tenho atendimento prioritário?", "10"),
    Question("support_documents", "precisa fazer avaliação antes do procedimento?", "6"),
    Question("support_documents", "quais cuidados devo ter depois do procedimento?", "8"),
)


@dataclass
class EvalResult:
    questions: int
    top1: float
    mrr: float
    misses: list[tuple[str, str, list[str]]]  # question, expected, what came first


def evaluate(search: Callable[[str, str, int], Sequence[Any]], questions: Sequence[Question] = QUESTIONS,
             depth: int = 10) -> EvalResult:
    """Top-1 accuracy and mean reciprocal rank (within `depth`) of `search(collection, query, limit)`."""
    hits1 = 0
    reciprocal = 0.0
    misses = []
    for q in questions:
        ids = [str(h.id) for h in search(q.collection, q.text, depth)]
        if ids[:1] == [q.expected]:
            hits1 += 1
        else:
            misses.append((q.text, q.expected, ids[:3]))
        if q.expected in ids:
            reciprocal += 1.0 / (ids.index(q.expected) + 1)
    n = len(questions)
    return EvalResult(n, hits1 / n, reciprocal / n, misses)
