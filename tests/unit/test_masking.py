"""Secrets never reach a message."""

from sparkify_dwh import db

CANARY = "s3cr3t-Canary-9431"


def test_passwords_in_urls_and_dsns_are_masked():
    url = f"postgresql://loader:{CANARY}@db.example:5432/dwh"
    assert CANARY not in db.mask(f"could not connect: {url}")
    assert CANARY not in db.mask(f"host=db password={CANARY} user=x")
    assert CANARY not in db.mask(f"some error mentioning {CANARY}", CANARY)
    assert db.display_url(url) == "postgresql://loader:***@db.example:5432/dwh"


def test_a_url_without_password_is_shown_as_is():
    url = "postgresql://postgres:@/postgres?host=/tmp/x"
    assert db.display_url(url) == url
