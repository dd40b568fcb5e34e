"""Who sees what, and over what a search's statistics are computed.

A caller of access level L sees the documents of level L and below (public < internal <
restricted). A relevance score is a statistic of the collection (how many pages hold each
word, how long pages are), not of one page: computed over every page, hidden ones included, it
would let a public caller count restricted pages holding a word (add the word to restricted
pages and a public score moves), and with several words it reorders the public hits. So each
backend keeps one full-text **set per clearance**: the `public` set holds the public documents,
`internal` the public and internal ones, `restricted` all of them; a document of level L is in
the set of every clearance L or above. A search is answered from one set, chosen by the
request's access-level filter, so everything it returns (hits, their order and scores, totals,
facet counts, lower bounds, snippets) derives from the documents of that set only.
"""

from __future__ import annotations

from dataclasses import dataclass

from arhiva.schemas.models import AccessLevel
from arhiva.schemas.search import SearchFilters

CLEARANCES: tuple[AccessLevel, ...] = tuple(AccessLevel)  # public < internal < restricted
ALL = CLEARANCES[-1]


def rank(level: AccessLevel) -> int:
    return CLEARANCES.index(level)


def sets_holding(level: AccessLevel) -> tuple[AccessLevel, ...]:
    """The clearances whose set holds a document of this level: its own and every one above."""
    return CLEARANCES[rank(level) :]


def sets_not_holding(level: AccessLevel) -> tuple[AccessLevel, ...]:
    """The clearances whose set must not hold a document of this level: every one below it."""
    return CLEARANCES[: rank(level)]


def visible(clearance: AccessLevel) -> tuple[AccessLevel, ...]:
    """The document levels in the set of this clearance."""
    return CLEARANCES[: rank(clearance) + 1]


@dataclass(frozen=True)
class Scope:
    """Where a search is answered: the set of `clearance`, with `filters` (the request's own,
    less the access-level filter when the set alone is that filter)."""

    clearance: AccessLevel
    filters: SearchFilters


def scope(filters: SearchFilters) -> Scope:
    """The set of the highest level the access-level filter names; with no such filter, every
    document (the operator's own searches). The API names the levels of the caller's key
    (`public` for a public key, `public, internal` for an internal one), so each caller is
    answered from its own set; a filter on fewer levels than the set holds stays a filter."""
    levels = filters.access_level
    if not levels:
        return Scope(ALL, filters)
    clearance = max(levels, key=rank)
    if set(levels) == set(visible(clearance)):
        filters = filters.model_copy(update={"access_level": ()})
    return Scope(clearance, filters)
