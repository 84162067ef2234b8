"""The rows staging writes read back from PostgreSQL's COPY exactly as they were: NULL, empty, text."""

import io

from sparkify_dwh.warehouses.postgres import COPY_OPTIONS, encode_row

ROWS = [
    (1, None, "", 1.5, None),
    (2, "null", "\\N", -0.25, 1_540_000_000_796),
    (3, 'back\\slash "quoted"\ttab\nnewline \\n NULL', "😀 日本語 Zoë", 1e-05, -(2**63)),
    (4, "\r\x01\x1f,", '"', 1e300, 2**63 - 1),
    (5, "\\", '\\"', 245.0, 0),
]


def test_every_value_reads_back_as_written(conn):
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE t (n INTEGER, a TEXT, b TEXT, c DOUBLE PRECISION, d BIGINT)")
        data = b"".join(encode_row(row) + b"\n" for row in ROWS)
        cur.copy_expert(f"COPY t FROM STDIN WITH ({COPY_OPTIONS})", io.BytesIO(data))
        cur.execute("SELECT n, a, b, c, d FROM t ORDER BY n")
        assert cur.fetchall() == ROWS
