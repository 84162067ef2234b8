"""Alerts against a local HTTP server: the message's shape and content, and a webhook that never answers."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sparkify_dwh import alerts


@pytest.fixture
def webhook():
    received: list[dict] = []
    status = {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the standard library's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "type": self.headers["Content-Type"], "body": json.loads(body)})
            self.send_response(status["code"])
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret-token", received, status
    server.shutdown()


def test_a_failed_check_posts_one_slack_shaped_message_with_counts_and_no_personal_data(webhook):
    url, received, _ = webhook
    body = alerts.message("check failed", load_id="20261201T030000-abcd", exit_code=1,
                          check="110_keys_unique.sql", violations=3, counts={"rejected": 2})
    assert alerts.post(url, body)
    (got,) = received
    assert got["path"] == "/services/T000/B000/secret-token" and got["type"] == "application/json"
    text = got["body"]["text"]
    assert "check failed" in text and "20261201T030000-abcd" in text and "110_keys_unique.sql" in text
    assert "rows breaking it 3" in text and "exit code 1" in text and "rejected 2" in text
    blocks = got["body"]["blocks"]
    assert blocks[0]["type"] == "section"
    assert {"type": "mrkdwn", "text": "*rows breaking it*\n3"} in blocks[1]["fields"]


def test_a_refused_alert_is_reported_without_the_url_and_never_raises(webhook):
    url, _, status = webhook
    status["code"] = 404
    said = []
    assert alerts.post(url, alerts.message("load failed"), say=said.append) is False
    assert said == ["alert not sent to ALERT_WEBHOOK_URL (HTTP 404)"]
    assert "secret-token" not in said[0]


def test_a_webhook_that_never_answers_costs_at_most_the_timeout():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections, never answers
    try:
        said = []
        started = time.monotonic()
        sent = alerts.post(f"http://127.0.0.1:{silent.getsockname()[1]}/hook", alerts.message("warning"),
                           timeout=0.5, say=said.append)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert sent is False and elapsed < 2.0
    assert said and said[0].startswith("alert not sent to ALERT_WEBHOOK_URL (")


def test_no_url_sends_nothing():
    assert alerts.post(None, alerts.message("load failed")) is False
    assert alerts.post("", alerts.message("load failed")) is False


def test_new_field_names_reach_the_alert_as_text_never_as_slack_markup_and_ten_at_most():
    unknown = {"<!channel>": (3, 1), "<https://x.example|click>": (1, 1), "a&b": (1, 1)}
    unknown.update({f"f{n:02d}": (1, 1) for n in range(20)})
    (warning,) = alerts.for_unknown_fields(unknown, load_id="L", exit_code=0)
    text = json.dumps(warning)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&lt;https://x.example|click&gt;" in text
    assert "a&amp;b" in text and "and 13 more" in text and "f19" not in text
