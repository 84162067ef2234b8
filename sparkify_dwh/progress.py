"""Progress while files are read: a bar on a terminal, a line at each tenth in a log, nothing when quiet."""

from __future__ import annotations

import sys
from collections.abc import Callable


def progress(total: int, label: str, quiet: bool) -> tuple[Callable[[], None], Callable[[], None]]:
    """(tick, close): tick once per file read; close when done."""
    if quiet or total < 100:
        return (lambda: None), (lambda: None)
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, desc=label, unit="file", leave=False, file=sys.stderr)
        return (lambda: bar.update(1)), bar.close
    step = max(1, total // 10)
    done = [0]

    def tick() -> None:
        done[0] += 1
        if done[0] % step == 0 or done[0] == total:
            print(f"  {label}: {done[0]}/{total} files read", file=sys.stderr, flush=True)

    return tick, (lambda: None)
