"""References chains of replies (RFC 5322 §3.6.4)."""

from __future__ import annotations

from routing.threads import MAX_REFERENCES, reply_chain


def test_reply_to_a_new_message_references_it_alone() -> None:
    assert reply_chain("<a@gmail.com>") == ["<a@gmail.com>"]


def test_reply_carries_the_parents_references_then_its_id() -> None:
    assert reply_chain("<c@x>", ["<a@x>", "<b@x>"], ["<b@x>"]) == ["<a@x>", "<b@x>", "<c@x>"]


def test_parent_without_references_but_one_in_reply_to() -> None:
    assert reply_chain("<c@x>", [], ["<b@x>"]) == ["<b@x>", "<c@x>"]
    # Several In-Reply-To ids say nothing about the order of the conversation.
    assert reply_chain("<c@x>", [], ["<a@x>", "<b@x>"]) == ["<c@x>"]


def test_no_message_id_no_chain() -> None:
    assert reply_chain(None, ["<a@x>"]) == []


def test_long_chains_keep_the_root_and_the_latest() -> None:
    refs = [f"<{i}@x>" for i in range(30)]
    chain = reply_chain("<last@x>", refs)
    assert len(chain) == MAX_REFERENCES
    assert chain[0] == "<0@x>" and chain[-2:] == ["<29@x>", "<last@x>"]
