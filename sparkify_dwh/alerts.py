"""Alerts: one JSON message per failed load, failed check or warning, posted to ALERT_WEBHOOK_URL in
Slack's incoming-webhook shape (`text`, and `blocks` with a section of fields), which Slack, Mattermost,
Microsoft Teams' and Discord's Slack-compatible endpoints and most chat bridges accept.

A message says what failed, the load id, the exit code, counts, the check's name and how many rows break
it: never raw lines, names or any other personal data. The URL holds a token, so it is never printed.
A webhook that does not answer within TIMEOUT seconds is given up: an alert never fails a load, nor
slows it by more than that.
"""

from __future__ import annotations

import json
import threading
import urllib.request

TIMEOUT = 5.0


def message(event: str, *, load_id: str | None = None, exit_code: int | None = None,
            counts: dict[str, int] | None = None, check: str | None = None, violations: int | None = None,
            detail: str = "") -> dict:
    """The JSON body: `text` for clients that read only that, `blocks` for the rest."""
    fields = {"load": load_id, "exit code": exit_code, "check": check, "rows breaking it": violations}
    fields.update(counts or {})
    shown = {k: v for k, v in fields.items() if v is not None}
    text = f"sparkify: {event}" + (f" ({detail})" if detail else "")
    if shown:
        text += ": " + ", ".join(f"{k} {v}" for k, v in shown.items())
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*sparkify: {event}*"
                                         + (f"\n{detail}" if detail else "")}},
            *([{"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"}
                                             for k, v in list(shown.items())[:10]]}] if shown else []),
        ],
    }


def post(url: str | None, body: dict, timeout: float = TIMEOUT, say=None) -> bool:
    """Post `body` to `url`; True when the webhook answered 2xx in time. Never raises; `say` (when given)
    gets one line when the alert could not be sent, without the URL."""
    if not url:
        return False
    outcome: list[str] = []

    def send() -> None:
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            # the socket's own timeout a second later than the wait below, which decides: "no answer"
            with urllib.request.urlopen(request, timeout=timeout + 1) as response:  # noqa: S310 (the user's URL)
                outcome.append("ok" if 200 <= response.status < 300 else f"HTTP {response.status}")
        except Exception as err:  # noqa: BLE001 (an alert never fails the load)
            code = getattr(err, "code", None)
            outcome.append(f"HTTP {code}" if code else type(err).__name__)

    worker = threading.Thread(target=send, name="alert", daemon=True)
    worker.start()
    worker.join(timeout)  # a server that drips its answer is left behind after `timeout` seconds
    result = outcome[0] if outcome else "no answer"
    if result != "ok" and say is not None:
        say(f"alert not sent to ALERT_WEBHOOK_URL ({result})")
    return result == "ok"


def send(url: str | None, bodies: list[dict], timeout: float = TIMEOUT, say=None) -> int:
    """Post each of `bodies` within one `timeout` for them all: a webhook that stops answering costs the
    run at most that, once. Returns how many were sent."""
    import time

    if not url or not bodies:
        return 0
    deadline = time.monotonic() + timeout
    sent = 0
    for n, body in enumerate(bodies):
        left = deadline - time.monotonic()
        if left <= 0 or not post(url, body, timeout=left, say=say):
            if say is not None and len(bodies) - n - 1 > 0:
                say(f"{len(bodies) - n - 1} more alerts not sent")
            break
        sent += 1
    return sent


def for_checks(results, *, load_id: str | None, exit_code: int, what: str) -> list[dict]:
    """A message per check that failed ("check failed") and per warning ("warning"): its name and how many
    rows break it, never the rows. `what`: the run (load, verify)."""
    out = []
    for r in results:
        if r.passed:
            continue
        event = "check failed" if r.blocking else "warning"
        out.append(message(event, load_id=load_id, exit_code=exit_code, check=r.name, violations=r.failures,
                           detail=f"{what}: {r.title}"))
    return out


def for_unknown_fields(unknown: dict[str, tuple[int, int]], *, load_id: str | None, exit_code: int) -> list[dict]:
    """A warning naming the fields the records held that the loader does not know, with their counts."""
    if not unknown:
        return []
    shown = list(unknown.items())[:UNKNOWN_SHOWN]
    names = ", ".join(f"{_slack_text(name)} ({records} records, {files} files)" for name, (records, files) in shown)
    more = f", and {len(unknown) - len(shown)} more" if len(unknown) > len(shown) else ""
    return [message("warning", load_id=load_id, exit_code=exit_code,
                    detail=f"load: new fields in the records: {names}{more}", counts={"new fields": len(unknown)})]


UNKNOWN_SHOWN = 10  # names in the alert at most (each at most records.FIELD_NAME_LIMIT characters): Slack's
# section text takes 3,000 characters


def _slack_text(text: str) -> str:
    """A name from the data as Slack shows it, not as markup: Slack's text formatting reads &, < and > as its
    control characters unless they are written as the HTML entities &amp;, &lt; and &gt;, so `<!channel>` or a
    `<url|label>` link from the data is plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
