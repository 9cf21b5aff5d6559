from core.naming import first_free


def test_base_when_free_else_the_first_free_number():
    assert first_free("Bot", set()) == "Bot"
    assert first_free("Bot", {"Bot", "Bot (2)"}) == "Bot (3)"
    assert first_free("Bot", {"Bot", "Bot 2"}, numbered="{base} {n}") == "Bot 3"


def test_first_candidate_and_length_limit():
    assert first_free("Bot", {"Bot (copy)"}, first="Bot (copy)", numbered="{base} (copy {n})") == "Bot (copy 2)"
    long = "x" * 100
    assert first_free(long, {long}) == "x" * 96 + " (2)"
    assert len(first_free(long, {long}, max_length=100)) == 100
