"""Machine data hidden in the bot's comments: round trip, absence, tampering, size."""

from __future__ import annotations

import pytest

from bot.core.embed import EmbedTooLarge, embed, extract


def test_round_trip_inside_a_comment() -> None:
    data = {"decision": "accept", "suites": [{"id": "s", "delta": 0.031}], "text": "-->"}
    body = "## Verdict\n\nsome table\n\n" + embed("comparison", data) + "\n"
    assert extract(body, "comparison") == data
    assert extract(body, "other") is None
    # the embedded text cannot close the HTML comment early
    assert body.count("-->") == 1


@pytest.mark.parametrize(
    "body",
    [None, "", "<!-- improve-data:comparison !!! -->", "<!-- improve-data:comparison QUJD -->"],
)
def test_absent_or_tampered_data_is_none(body: str | None) -> None:
    assert extract(body, "comparison") is None


def test_too_large_is_refused() -> None:
    import random

    rnd = random.Random(1)
    noise = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(100_000))
    with pytest.raises(EmbedTooLarge):
        embed("x", noise)


def test_a_compression_bomb_is_not_inflated() -> None:
    import base64
    import zlib

    bomb = base64.b64encode(zlib.compress(b"[" + b"0," * 5_000_000 + b"0]", 9)).decode()
    assert extract(f"<!-- improve-data:x {bomb} -->", "x") is None
