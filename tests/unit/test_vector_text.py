"""pt-BR keyword tokens, chunking and deterministic ids: pure functions, no model, no Qdrant."""

from __future__ import annotations

import itertools
import json

from chatwoot_ai.vector import sparse
from chatwoot_ai.vector.chunking import chunk_text
from chatwoot_ai.vector.ids import metadata_hash, point_id, text_hash


def test_accented_and_unaccented_spellings_meet() -> None:
    for accented, plain in [("devolução", "devolucao"), ("promoções", "promocoes"), ("sensível", "sensivel"),
                            ("hidratação", "hidratacao"), ("radiofrequência", "radiofrequencia")]:
        assert sparse.tokens(accented) == sparse.tokens(plain), (accented, plain)


def test_inflections_share_a_stem() -> None:
    assert sparse.tokens("cancelamento") == sparse.tokens("cancelar")
    assert sparse.tokens("protetores solares") == sparse.tokens("protetor solar")
    assert sparse.tokens("promoção") == sparse.tokens("promoções")


def test_stopwords_dropped_numbers_kept() -> None:
    assert sparse.tokens("Qual é o prazo para a devolução?") == sparse.tokens("prazo devolução")
    assert "50" in sparse.tokens("protetor FPS 50")


def test_document_vector_weights_repeated_terms_higher_but_saturating() -> None:
    indices, values = sparse.document_vector("creme creme creme hidratante")
    weights = dict(zip(indices, values, strict=True))
    creme = weights[sparse.token_index(sparse.tokens("creme")[0])]
    hidratante = weights[sparse.token_index(sparse.tokens("hidratante")[0])]
    assert hidratante < creme < 3 * hidratante
    assert indices == sorted(indices)


def test_query_vector_is_binary_and_deduplicated() -> None:
    indices, values = sparse.query_vector("creme creme hidratante")
    assert len(indices) == 2 and values == [1.0, 1.0]
    assert sparse.query_vector("o que é?") == ([], [])


def test_short_text_is_one_chunk_and_blank_is_none() -> None:
    assert chunk_text("Gel de limpeza facial.") == ["Gel de limpeza facial."]
    assert chunk_text("   ") == []


def test_long_policy_is_chunked_within_the_limit_with_overlap(fixtures_dir) -> None:
    documents = json.loads((fixtures_dir / "demo_store" / "policy_documents.json").read_text())["documents"]
    text = max((d["rule_text"] for d in documents), key=len)
    chunks = chunk_text(text, max_chars=500, overlap=100)
    assert len(chunks) >= 4
    assert all(len(c) <= 500 for c in chunks)
    for previous, current in itertools.pairwise(chunks):
        # each chunk starts with words from the end of the one before
        assert current.split()[0] in previous.split()[-25:]
    # nothing lost: every sentence of the text is in some chunk
    for sentence in text.split(". "):
        assert any(sentence.strip(". ")[:60] in c for c in chunks)


def test_a_sentence_longer_than_a_chunk_is_cut_at_words() -> None:
    chunks = chunk_text("palavra " * 400, max_chars=200, overlap=40)
    assert all(len(c) <= 200 for c in chunks)
    assert all(set(c.split()) == {"palavra"} for c in chunks)


def test_point_ids_are_deterministic_and_scoped() -> None:
    a = point_id("t1", "products", "42", 0)
    assert a == point_id("t1", "products", "42", 0)
    assert len({a, point_id("t2", "products", "42", 0), point_id("t1", "business_rules", "42", 0),
                point_id("t1", "products", "43", 0), point_id("t1", "products", "42", 1)}) == 5


def test_text_hash_changes_with_text_and_chunking_not_with_the_models() -> None:
    """The collection records the model set (a change re-indexes every point); re-sends after a re-index must
    still be recognised as unchanged."""
    base = text_hash("abc", (800, 120))
    assert base == text_hash("abc", (800, 120))
    assert len({base, text_hash("abd", (800, 120)), text_hash("abc", (700, 120))}) == 3
    assert metadata_hash({"a": 1, "b": 2}) == metadata_hash({"b": 2, "a": 1})


def test_codes_customers_type_are_found_and_portuguese_hyphenated_words_are_not() -> None:
    from chatwoot_ai.vector.codes import find_codes, record_codes

    assert find_codes("PROT-50-001 ainda tem?") == ["PROT50001"]
    assert find_codes("quero o ser-ret-003 e o BEL-KIDS") == ["SERRET003", "BELKIDS"]
    assert find_codes("cade meu pedido S00012?? e o PC-10234") == ["PC10234", "S00012"]
    assert find_codes("meu cep é 13087-500, e o outro 13025320") == ["CEP13087500", "CEP13025320"]
    assert find_codes("guarda-roupa oil-free anti-envelhecimento, FPS 50, 15kg, 10x sem juros") == []
    metadata = {"sku": "cama-nuv-m", "default_code": 7788}
    assert record_codes("Caminha. Código CAMA-NUV-M.", metadata) == ["CAMANUVM", "7788"]


def test_a_follow_up_is_searched_with_the_previous_message_and_a_full_question_alone() -> None:
    from chatwoot_ai.vector.followup import contextual_query, needs_context

    for text in ("e quanto custa?", "e para o interior?", "E pra gato?", "quanto tempo dura?",
                 "precisa de algum preparo antes?", "tem com gavetas?", "mas e no boleto"):
        assert needs_context(text), text
    for text in ("vermifugo pra cachorro", "qual a garantia do sofa", "com quanto tempo de antecedencia agendo",
                 "vcs tem hotelzinho pra cachorro?"):
        assert not needs_context(text), text
    assert contextual_query("e quanto custa?", "vcs fazem drenagem?") == "vcs fazem drenagem? e quanto custa?"
    assert contextual_query("e quanto custa?", None) == "e quanto custa?"
    assert contextual_query("qual o prazo de troca?", "oi") == "qual o prazo de troca?"
