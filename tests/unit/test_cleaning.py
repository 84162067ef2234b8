"""The rules that turn a logged value into the star's: mojibake repaired by one stated rule, user agents
unquoted and parsed, locations split into metro area and states."""

import pytest

from sparkify_dwh import cleaning


def double_encoded(text: str, times: int = 1) -> str:
    """`text` as the logs hold it after its UTF-8 was read as Latin-1, `times` over."""
    for _ in range(times):
        text = text.encode("utf-8").decode("latin-1")
    return text


@pytest.mark.parametrize("text", ["Björk", "Représente", "No Hay Nadie Como Tú", "De São Paulo À Belém", "Nik Bärtsch"])
@pytest.mark.parametrize("times", [1, 2])
def test_double_encoded_utf8_is_repaired(text, times):
    assert double_encoded(text, times) != text
    assert cleaning.repair(double_encoded(text, times)) == text


def test_the_samples_own_values_are_repaired():
    assert cleaning.repair("BjÃ\x83Â¶rk") == "Björk"
    assert cleaning.repair("ReprÃ\x83Â©sente") == "Représente"


@pytest.mark.parametrize("text", ["Björk", "Électrique", "夜明け", "Москва", "Nguyễn", "Zoë", "plain ASCII", "Ã",
                                  "Ã la carte", "50 °C", "naïve café"])
def test_text_that_is_not_double_encoded_utf8_stays_as_it_is(text):
    assert cleaning.repair(text) == text


def test_a_repair_that_would_leave_control_characters_is_refused():
    # U+0080 encoded twice: "repairing" it gives a C1 control character, which is not valid text
    assert cleaning.repair(double_encoded("x\x80y")) == double_encoded("x\x80y")
    # a control character the value already held does not stop the repair
    assert cleaning.repair(double_encoded("Café\x19")) == "Café\x19"


def test_trailing_blanks_go_as_redshift_compares_text():
    assert cleaning.repair("Heavy Soul ") == "Heavy Soul"
    assert cleaning.repair(double_encoded("Café") + "  ") == "Café"


def test_a_user_agent_loses_its_quotes_and_is_parsed():
    ua = cleaning.user_agent('"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 '
                             '(KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53"')
    assert ua.text.startswith("Mozilla/5.0 (iPhone;") and not ua.text.endswith('"')
    assert (ua.browser, ua.os, ua.device) == ("Mobile Safari", "iOS", "iPhone")
    ua = cleaning.user_agent("Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0")
    assert (ua.browser, ua.os, ua.device) == ("Firefox", "Windows", "Other")
    assert cleaning.user_agent('"UA"') == cleaning.UserAgent("UA", "Other", "Other", "Other")


@pytest.mark.parametrize("location, metro, state", [
    ("San Francisco-Oakland-Hayward, CA", "San Francisco-Oakland-Hayward", "CA"),
    ("Chicago-Naperville-Elgin, IL-IN-WI", "Chicago-Naperville-Elgin", "IL-IN-WI"),
    ("Augusta-Richmond County, GA-SC", "Augusta-Richmond County", "GA-SC"),
    ("São Paulo, Brazil", "São Paulo", None),
    ("Nowhere", "Nowhere", None),
])
def test_a_location_is_a_metro_area_and_its_states(location, metro, state):
    place = cleaning.place(location)
    assert (place.text, place.metro, place.state) == (location, metro, state)


def test_a_location_is_repaired_before_it_is_split():
    place = cleaning.place(double_encoded("Zürich, Switzerland", 2))
    assert (place.text, place.metro, place.state) == ("Zürich, Switzerland", "Zürich", None)


def test_whatever_utf8_read_as_latin1_or_windows1252_reaches_ftfy():
    # the cheap test that spares ftfy the text that cannot be mojibake must never spare it a misreading
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.text(min_size=1).filter(lambda t: not t.isascii()), st.sampled_from(["latin-1", "cp1252"]))
    def check(text, encoding):
        try:
            misread = text.encode("utf-8").decode(encoding)
        except UnicodeDecodeError:
            return
        assert cleaning._MISREAD.search(misread)

    check()
