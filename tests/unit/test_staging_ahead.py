"""Parsing runs ahead of COPY in a thread: order kept, errors raised in the consumer, early stops clean."""

import threading

import pytest

from sparkify_dwh.warehouses.postgres import ahead as _ahead


def test_chunks_arrive_in_order_from_another_thread():
    producers = set()

    def chunks():
        for i in range(100):
            producers.add(threading.current_thread().name)
            yield b"%d" % i

    assert list(_ahead(chunks(), depth=3)) == [b"%d" % i for i in range(100)]
    assert producers == {"staging-parse"}


def test_an_error_while_parsing_is_raised_to_the_consumer():
    def chunks():
        yield b"a"
        raise ValueError("bad file")

    with pytest.raises(ValueError, match="bad file"):
        list(_ahead(chunks()))


def test_a_consumer_that_stops_early_stops_the_producer():
    produced = []

    def chunks():
        for i in range(10_000):
            produced.append(i)
            yield b"x"

    stream = _ahead(chunks(), depth=2)
    assert next(stream) == b"x"
    stream.close()  # as when COPY fails on the server
    assert not any(t.name == "staging-parse" and t.is_alive() for t in threading.enumerate())
    assert len(produced) < 10
