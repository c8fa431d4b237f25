"""Positions handed to clients: a plain entry id with one partition, an opaque
token naming some or all partitions with several."""

from __future__ import annotations

import pytest

from orders_gql.eventstore.positions import InvalidPosition, Position, parse_position


def test_one_partition_keeps_the_plain_entry_id() -> None:
    assert Position.of_entry(1, 0, "1700000000000-3").encode() == "1700000000000-3"
    assert parse_position("1700000000000-3", 1).named() == {0: "1700000000000-3"}


def test_a_token_names_partitions_and_round_trips() -> None:
    written = Position.of_entry(4, 2, "1700000000000-3")
    token = written.encode()
    assert "1700000000000" not in token  # opaque
    assert parse_position(token, 4) == written
    assert written.named() == {2: "1700000000000-3"}
    everywhere = Position.of(3, {0: "5-1", 2: "7-0"})
    assert parse_position(everywhere.encode(), 3).named() == {0: "5-1", 1: "0-0", 2: "7-0"}


def test_unnamed_partitions_resume_at_the_same_millisecond() -> None:
    written = Position.of_entry(3, 1, "1700000000000-3")
    assert written.start(1) == "1700000000000-3"
    assert written.start(0) == f"1699999999999-{2**64 - 1}"  # includes 1700000000000-0


def test_a_plain_entry_id_stands_for_every_partition() -> None:
    assert parse_position("12-0", 3).named() == {0: "12-0", 1: "12-0", 2: "12-0"}


@pytest.mark.parametrize("text", ["", "abc", "12", "12-x", "MTo", "MjpfMS0w", "!!!"])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(InvalidPosition):
        parse_position(text, 3)


def test_a_token_of_another_partitioning_is_refused() -> None:
    token = Position.of_entry(4, 0, "1-0").encode()
    with pytest.raises(InvalidPosition, match="made for 4 partitions"):
        parse_position(token, 8)
