"""The callback-data codec: every kind reads back what it builds, and nothing else."""

from __future__ import annotations

import re

import pytest

from bot import callbacks as cb

SAMPLES: list[tuple[cb.Kind[object], object, str]] = [
    (cb.OPEN, cb.Ref(42), "open:42"),
    (cb.EVENT_CARD, cb.ChoiceRef("cancel", 12), "evo:cancel:12"),
    (cb.EVENT_CANCEL, cb.ChoiceRef("yes", 12), "evc:yes:12"),
    (cb.GROUP, cb.GroupDecision("ok", -1001234567890), "grp:ok:-1001234567890"),
    (cb.BROADCAST_KIND, cb.DraftChoice("ann", 777000, 55), "bk:ann:777000:55"),
    (cb.BROADCAST_SEND, cb.DraftChoice("no", 777000, 55), "bs:no:777000:55"),
    (cb.NEW_EVENT, cb.Choice("skip"), "ne:skip"),
    (cb.MERGE, cb.MergeInto(42, 41), "merge:42:41"),
    (cb.UNMERGE, cb.Ref(42), "unmerge:42"),
    (cb.RSVP, cb.ChoiceRef("going", 12), "ev:going:12"),
    (cb.RATE, cb.Rating(12, 5), "rate:12:5"),
    (cb.ADD_TO_TIP, cb.Ref(3), "add:3"),
    (cb.QUICK_YES, cb.Ref(99), "quick:99"),
    (cb.QUICK_NO, cb.Ref(99), "quickno:99"),
    (cb.ALERT_INFO, cb.Ref(3), "info:3"),
    (cb.CATEGORY, cb.Choice("vehicle"), "cat:vehicle"),
    (cb.SUBSCRIPTION, cb.Choice("safety"), "sub:safety"),
    (cb.LANGUAGE, cb.Choice("es"), "lang:es"),
    (cb.OPT_IN, cb.Choice("1"), "optin:1"),
]


@pytest.mark.parametrize(("kind", "value", "wire"), SAMPLES)
def test_round_trip_keeps_todays_wire_strings(
    kind: cb.Kind[object], value: object, wire: str
) -> None:
    assert kind.build(value) == wire
    assert kind.parse(wire) == value
    assert re.match(kind.pattern, wire)


def test_every_prefix_is_declared_once() -> None:
    prefixes = [kind.prefix for kind in cb.KINDS]
    assert len(prefixes) == len(set(prefixes))


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (cb.OPEN, "open:99999999999999999999999"),  # huge
        (cb.OPEN, "open:0"),
        (cb.OPEN, "open:²"),  # superscript: isdigit() says yes, int() says no
        (cb.RSVP, "ev:going:٣"),  # Arabic-Indic digit
        (cb.RSVP, "ev:dance:1"),
        (cb.RSVP, "ev:going:1:extra"),
        (cb.RSVP, "ev"),
        (cb.RATE, "rate:1:9"),
        (cb.MERGE, "merge:42"),
        (cb.MERGE, "merge:42:-41"),
        (cb.RATE, "rate:1:0"),
        (cb.GROUP, "grp:ok:-99999999999999999999"),
        (cb.GROUP, "grp:ok:--5"),
        (cb.CATEGORY, "cat:../../etc"),
        (cb.BROADCAST_SEND, "bs:yes"),
        (cb.BROADCAST_SEND, "bs:send:999999999999999999999999"),
        (cb.OPEN, None),
        (cb.OPEN, "open:1" + " " * 64),  # too long
        (cb.OPEN, " open:1"),
    ],
)
def test_forged_data_is_none(kind: cb.Kind[object], data: str | None) -> None:
    assert kind.parse(data) is None


def test_building_what_cannot_be_read_back_is_a_bug() -> None:
    with pytest.raises(ValueError):
        cb.OPEN.build(cb.Ref(0))
    with pytest.raises(ValueError):
        cb.RATE.build(cb.Rating(1, 6))
    with pytest.raises(ValueError):
        cb.OPEN.build(cb.Ref(10**70))  # far past 64 bytes


def test_officer_kinds_are_known_by_prefix() -> None:
    for data in ("evo:cancel:1", "grp:ok:-1", "bs:yes", "bk:alert", "ne:save", "open:x"):
        assert cb.for_officers(data)
    for data in ("ev:going:1", "evo", "cat:vehicle", "", None, "x" * 64):
        assert not cb.for_officers(data)
