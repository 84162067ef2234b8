"""A large load's events parsed by worker processes: the same staged rows, rejects (file, line, reason), counts and
withdrawn rows as the parse in a thread, and a row the server refuses still traced to its file and line."""

import json

import pytest
from conftest import GOOD_EVENT, hostile_dataset

from sparkify_dwh import db, migrations, records, sources
from sparkify_dwh.warehouses import postgres
from sparkify_dwh.warehouses.base import Plan, StagingError

pytestmark = pytest.mark.integration

COLUMNS = ", ".join(("source_file", "source_line") + records.EVENT_COLUMNS)  # all but load_id


def event(n: int, **changes) -> bytes:
    return json.dumps(dict(GOOD_EVENT, ts=GOOD_EVENT["ts"] + n, itemInSession=n, **changes),
                      ensure_ascii=False).encode()


def dataset(root):
    """The hostile dataset's logs (a .json.gz cut short after several blocks of rows among them), and a log of
    many blocks holding rejects in several of them, blank and CRLF lines, a byte-order mark, non-ASCII text, a
    line longer than a record may be."""
    root, _ = hostile_dataset(root)
    lines = [b"\xef\xbb\xbf" + event(0)]
    for n in range(1, 6000):
        lines.append(event(n, song=f"chanson d'été {n}") if n % 7 else event(n))
        if n % 1500 == 0:
            lines += [b"{not json", b"", b"   \r", event(n, sessionId="x"), event(n, page="NextSong ")]
        if n % 1000 == 500:  # fields the loader does not know, in several blocks
            lines.append(event(n, newField=n) if n % 2000 != 500 else event(n, newField=n, genre="jazz"))
        if n == 4000:
            lines.append(b'{"ts": 1, "song": "' + b"x" * (records.RECORD_LIMIT + 10) + b'"}')
    (root / "log_data" / "2018" / "11" / "2018-11-05-events.json").write_bytes(b"\r\n".join(lines) + b"\n")
    return root / "log_data"


def stage(url: str, source, monkeypatch, *, pooled: bool, policy: str | None = None):
    """Stage every log file of `source` into a fresh schema at `url`, parsed in a thread or by workers, the unknown
    fields counted under UNKNOWN_FIELDS=`policy` (None: not at all); what the stager reported, what staging holds
    (without the load's id) and the unknown fields counted."""
    made = []

    class Pool(postgres.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            made.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(postgres, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(postgres, "POOL_BYTES", 0 if pooled else 1 << 62)
    monkeypatch.setattr(postgres, "parse_workers", lambda: 2)
    monkeypatch.setattr(records, "CHUNK", 64 << 10)  # blocks of 64 KiB: many of them, in every file
    conn = db.connect_url(url)
    migrations.migrate(conn)
    conn.commit()
    files = sources.list_files(str(source))
    plan = Plan("events", "staging_events", str(source), files, {}, files, True)
    stager = postgres.PostgresStager("test", 1, True)
    stager.fields = records.UnknownFields(policy) if policy else None
    with conn.cursor() as cur:
        copied = stager.copy(cur, plan, 0)
        cur.execute(f"SELECT {COLUMNS} FROM staging_events ORDER BY source_file, source_line")
        staged = cur.fetchall()
    conn.rollback()
    conn.close()
    assert len(made) == (1 if pooled else 0)
    return copied, staged, (stager.fields.counts() if stager.fields else None)


@pytest.mark.parametrize("policy", [None, "warn", "fail"])
def test_workers_stage_what_the_thread_stages_with_the_same_rejects_and_counts(tmp_path, database, other_database,
                                                                               monkeypatch, policy):
    source = dataset(tmp_path / "data")
    threaded, threaded_rows, threaded_fields = stage(database, source, monkeypatch, pooled=False, policy=policy)
    pooled, pooled_rows, pooled_fields = stage(other_database, source, monkeypatch, pooled=True, policy=policy)
    assert pooled_fields == threaded_fields
    if policy == "warn":  # 6 records hold newField, 3 of them genre too; the hostile dataset has its own
        assert pooled_fields["newField"][0] >= 6 and pooled_fields["genre"][0] >= 3
    if policy == "fail":
        assert sum("UNKNOWN_FIELDS=fail" in r.reason for r in pooled.rejects) >= 6
    assert pooled_rows == threaded_rows and len(threaded_rows) > 6000
    assert pooled.rejects == threaded.rejects
    assert [(c.file.uri, c.read, c.staged, c.rejected) for c in pooled.files] == \
        [(c.file.uri, c.read, c.staged, c.rejected) for c in threaded.files]
    found = {(r.source.rsplit("/", 1)[1], r.line_number) for r in pooled.rejects}
    assert ("2018-11-04-events.json.gz", 0) in found  # cut short: none of its rows stays, though blocks were sent
    assert not any(row[0].endswith(".gz") for row in pooled_rows)
    big = [r for r in pooled.rejects if r.source.endswith("2018-11-05-events.json")]
    assert len(big) == (16 if policy == "fail" else 10) and any("longer than a record may be" in r.reason for r in big)


def test_a_row_the_server_refuses_is_named_by_its_file_and_line_when_workers_parse(tmp_path, database, monkeypatch):
    logs = tmp_path / "log_data"
    logs.mkdir()
    for day in range(3):
        (logs / f"2018-11-0{day + 1}-events.json").write_bytes(b"\n".join(event(n) for n in range(3000)) + b"\n")
    conn = db.connect_url(database)
    migrations.migrate(conn)
    with conn.cursor() as cur:  # a rule of the server's own, which the parser does not know
        cur.execute("ALTER TABLE staging_events ADD CONSTRAINT refused CHECK (item_in_session <> 2345)")
    conn.commit()
    conn.close()
    refused = db.connect_url(database)
    monkeypatch.setattr(postgres, "POOL_BYTES", 0)
    monkeypatch.setattr(postgres, "parse_workers", lambda: 2)
    monkeypatch.setattr(records, "CHUNK", 64 << 10)
    files = sources.list_files(str(logs))
    plan = Plan("events", "staging_events", str(logs), files, {}, files, True)
    with refused.cursor() as cur, pytest.raises(StagingError) as err:
        postgres.PostgresStager("test", 1, True).copy(cur, plan, 0)
    refused.close()
    assert f"the server refused {logs}/2018-11-01-events.json line 2346: " in str(err.value)
