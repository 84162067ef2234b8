"""`python -m sparkify_dwh COMMAND [args]` runs bin/COMMAND: the container's entrypoint."""

import os
import sys

from .config import ROOT

BIN = ROOT / "bin"


def main() -> None:
    commands = sorted(p.name for p in BIN.iterdir() if p.is_file())
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help", "help"}:
        print(f"usage: python -m sparkify_dwh {{{'|'.join(commands)}}} [args]\n"
              "example: docker run --rm -e DATABASE_URL=... IMAGE load")
        return
    command = sys.argv[1]
    if command not in commands:
        sys.exit(f"error: unknown command {command!r}; one of {', '.join(commands)}")
    os.execv(sys.executable, [sys.executable, str(BIN / command), *sys.argv[2:]])


if __name__ == "__main__":
    main()
