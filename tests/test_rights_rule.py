"""The publication rule as a table: facts and a day in, a decision out (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from mura.app.modules.rights.rights import (
    IN_COPYRIGHT,
    PUBLIC_DOMAIN_MARK,
    ContractFacts,
    DocumentFacts,
    death_year,
    decide,
)

TODAY = date(2026, 6, 1)


def contract(
    grants: str = "digitize publish_online download print",
    status: str = "active",
    start: date = date(2024, 1, 1),
    end: date | None = date(2027, 12, 31),
    number: str = "12/2024",
) -> ContractFacts:
    return ContractFacts(number, status, start, end, frozenset(grants.split()))


# (case, facts, status, download, print, rights statement, words in the reason)
CASES = [
    ("nothing at all", DocumentFacts(), "not_public", False, False, "",
     ["No public-domain or library-owned mark", "no contract covers"]),
    ("no record: no contract can cover it", DocumentFacts(has_record=False), "not_public",
     False, False, "", ["no catalogue record"]),
    ("marked public domain", DocumentFacts(mark="public_domain", mark_reason="folk epic"),
     "online", True, True, PUBLIC_DOMAIN_MARK, ["Public domain (marked): folk epic"]),
    # Catalogue dates only propose the public domain: an administrator confirms (issue 18).
    ("author died 71 years ago: proposed, not open", DocumentFacts(death_years=(1955,)),
     "not_public", False, False, "", ["died in 1955", "waiting for an administrator"]),
    ("author died exactly 70 years ago: not yet", DocumentFacts(death_years=(1956,)),
     "not_public", False, False, "", ["public domain from 2027"]),
    ("two authors, one died recently", DocumentFacts(death_years=(1900, 1980)), "not_public",
     False, False, "", ["died in 1980"]),
    ("two authors, one with unknown dates", DocumentFacts(death_years=(1900, None)),
     "not_public", False, False, "", ["unknown"]),
    ("library-owned", DocumentFacts(mark="library_owned", mark_reason="staff author, 2019"),
     "online", True, True, IN_COPYRIGHT, ["The library holds the rights: staff author"]),
    ("active contract, online with download and print",
     DocumentFacts(contracts=(contract(),)), "online", True, True, IN_COPYRIGHT,
     ["Contract 12/2024 (2024-01-01 – 2027-12-31)", "publish online"]),
    ("online without download", DocumentFacts(contracts=(contract("digitize publish_online"),)),
     "online", False, False, IN_COPYRIGHT, ["publish online"]),
    ("reading room only", DocumentFacts(contracts=(contract("digitize reading_room print"),)),
     "reading_room", False, True, IN_COPYRIGHT, ["reading room"]),
    ("digitize only: the description", DocumentFacts(contracts=(contract("digitize"),)),
     "record_only", False, False, IN_COPYRIGHT, ["digitize"]),
    ("indefinite contract", DocumentFacts(contracts=(contract(end=None),)), "online", True, True,
     IN_COPYRIGHT, ["indefinite"]),
    ("last day of the term is still in force",
     DocumentFacts(contracts=(contract(end=TODAY),)), "online", True, True, IN_COPYRIGHT, []),
    ("term ended yesterday", DocumentFacts(contracts=(contract(end=date(2026, 5, 31)),)),
     "not_public", False, False, "", ["contract 12/2024 ended on 2026-05-31"]),
    ("term not started", DocumentFacts(contracts=(contract(start=date(2026, 7, 1)),)),
     "not_public", False, False, "", ["starts on 2026-07-01"]),
    ("draft contract", DocumentFacts(contracts=(contract(status="draft"),)), "not_public",
     False, False, "", ["is a draft"]),
    ("terminated contract", DocumentFacts(contracts=(contract(status="terminated"),)),
     "not_public", False, False, "", ["was terminated"]),
    ("expired status wins over dates", DocumentFacts(contracts=(contract(status="expired"),)),
     "not_public", False, False, "", ["ended on 2027-12-31"]),
    ("two contracts add up",
     DocumentFacts(contracts=(contract("reading_room"), contract("publish_online", number="3/25"))),
     "online", False, False, IN_COPYRIGHT, ["contract 3/25"]),
    ("expired and renewed", DocumentFacts(contracts=(
        contract(status="expired", end=date(2025, 12, 31)),
        contract(start=date(2026, 1, 1), end=None, number="1/2026"))),
     "online", True, True, IN_COPYRIGHT, ["1/2026"]),
    ("default library-owned applies to unmarked documents",
     DocumentFacts(default_mark="library_owned"), "online", True, True, IN_COPYRIGHT,
     ["DEFAULT_ACCESS"]),
    ("default public domain", DocumentFacts(default_mark="public_domain"), "online", True, True,
     PUBLIC_DOMAIN_MARK, ["DEFAULT_ACCESS"]),
    ("an explicit none beats the default",
     DocumentFacts(mark="none", mark_reason="heirs refused", default_mark="library_owned"),
     "not_public", False, False, "", ["heirs refused"]),
    ("a contract beats the default", DocumentFacts(
        default_mark="library_owned", contracts=(contract("reading_room"),)),
     "reading_room", False, False, IN_COPYRIGHT, []),
    ("unconfirmed public domain: the reading-room contract decides", DocumentFacts(
        death_years=(1930,), contracts=(contract("reading_room"),)),
     "reading_room", False, False, IN_COPYRIGHT, ["reading room"]),
    ("library-owned beats a reading-room contract", DocumentFacts(
        mark="library_owned", mark_reason="bought", contracts=(contract("reading_room"),)),
     "online", True, True, IN_COPYRIGHT, ["bought"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "status", "download", "print_", "uri", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_publication_rule(
    facts: DocumentFacts, status: str, download: bool, print_: bool, uri: str, words: list[str]
) -> None:
    decision = decide(facts, TODAY)
    assert (decision.status, decision.download, decision.print) == (status, download, print_)
    assert decision.rights_uri == uri
    for word in words:
        assert word in decision.reason, decision.reason
    assert decision.reason  # staff always learn why


def test_the_rule_is_pure() -> None:
    facts = DocumentFacts(contracts=(contract(),))
    assert decide(facts, TODAY) == decide(facts, TODAY)


@pytest.mark.parametrize(
    ("dates", "year"),
    [
        ("1890-1950", 1950),
        ("1890–1950", 1950),
        ("1890-1950 гг.", 1950),
        ("ум. 1950", 1950),
        ("d. 1950", 1950),
        ("1950-", None),
        ("1950", None),
        ("", None),
        ("род. 1950", None),
    ],
)
def test_death_year_from_catalogue_dates(dates: str, year: int | None) -> None:
    assert death_year(dates) == year
