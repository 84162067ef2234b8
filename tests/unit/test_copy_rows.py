"""Rows for COPY: a JSON array read as CSV (ESCAPE '\\', NULL 'null'); written field by field
when JSON's escapes would not read back."""

from sparkify_dwh.warehouses.postgres import encode_row


def test_null_is_the_bare_word_and_strings_are_always_quoted():
    assert encode_row((None, "", "null", 7, 1.5, -0.25)) == b'null,"","null",7,1.5,-0.25'


def test_quotes_and_backslashes_use_the_escape_character():
    assert encode_row(('say "hi"', "back\\slash", '\\"')) == b'"say \\"hi\\"","back\\\\slash","\\\\\\""'


def test_non_ascii_is_written_as_utf8():
    assert encode_row(("Zoë 東京 😀",)) == '"Zoë 東京 😀"'.encode()


def test_control_characters_are_written_as_themselves_not_as_json_escapes():
    row = ("tab\there", "new\nline", "cr\r", "bell\x07", 'mix \\n "q"')
    out = encode_row(row)
    assert b"\\n" not in out.replace(b"\\\\n", b"") and b"\\u" not in out
    assert out == b'"tab\there","new\nline","cr\r","bell\x07","mix \\\\n \\"q\\""'


def test_a_control_character_beside_quotes_is_still_written_as_itself():
    # the quotes' backslashes alone are COPY's escapes; one more backslash (JSON's \t) is not
    assert encode_row(('"q"', "a\tb")) == b'"\\"q\\"","a\tb"'
    assert encode_row(('"q" and \x01',)) == b'"\\"q\\" and \x01"'
    assert encode_row(('ends in \\', '"')) == b'"ends in \\\\","\\""'
