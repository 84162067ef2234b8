"""One load at a time: every transaction that writes staging or the star opens with LOCK TABLE load_lock.

The same statement on both warehouses (Redshift has no advisory locks: "LOCK: Restricts access to a
database table ... Explicitly locking a table in this way causes reads and writes on the table to
wait"). load_lock is a table no query reads, so only writers wait: `make verify` and `make report`
never do. The lock ends with its transaction, so it is held while staging or the transform runs,
never while files are listed, read or uploaded.
"""

from __future__ import annotations

import threading

LOCK = "LOCK TABLE load_lock"
WAITING = "another load is running; waiting for it to finish"


def take(cur, say=print, patience: float = 1.0) -> None:
    """Take the load lock in the current transaction; say so when it is not granted within `patience`."""
    timer = threading.Timer(patience, say, args=(WAITING,))
    timer.daemon = True
    timer.start()
    try:
        cur.execute(LOCK)
    finally:
        timer.cancel()
