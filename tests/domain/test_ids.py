"""The ids made without uuid.UUID objects are the strings uuid would make."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from orders_gql.domain.ids import name_uuid, random_uuid
from orders_gql.domain.model import event_id_for

NAMESPACE = uuid.UUID("6f1c7a52-3b7e-4c1e-9a53-0d7f2f0f9a11")


@given(st.uuids(), st.text())
def test_a_name_uuid_is_uuid5s(namespace: uuid.UUID, name: str) -> None:
    assert name_uuid(namespace, name) == str(uuid.uuid5(namespace, name))


def test_event_ids_stay_what_they_were() -> None:
    """Stored events carry these ids, and a retried command must decide the
    same ones: the value uuid5 gave before ids were made without it."""
    assert event_id_for("cmd-1", 1) == "c92772c9-1400-5b45-992e-57a655460b1e"
    assert event_id_for("cmd-1", 1) == str(uuid.uuid5(NAMESPACE, "cmd-1:1"))


def test_random_uuids_are_version_4_and_differ() -> None:
    made = [random_uuid() for _ in range(2000)]
    assert len(set(made)) == len(made)
    for text in made[:200]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # canonical: lower case, dashes in place
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
