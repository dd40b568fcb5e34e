"""Romanian text normalisation and query parsing (search itself: test_search_contract.py)."""

from __future__ import annotations

from arhiva.indexing.query import parse_query, to_fts5
from arhiva.text import fix_romanian


def test_cedilla_letters_become_comma_below() -> None:
    assert fix_romanian("Autorizaţie, ŞCOALA, ştiinţă, Ţara") == "Autorizație, ȘCOALA, știință, Țara"
    assert fix_romanian("ă â î ș ț") == "ă â î ș ț"


def test_query_parsing() -> None:
    terms = parse_query('autorizatie "de construire" sect* nr.12/2024')
    assert to_fts5(terms) == '"autorizatie" AND "de construire" AND "sect"* AND "nr 12 2024"'
    assert parse_query('" " ,, ') == []
