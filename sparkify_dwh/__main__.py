"""`python -m sparkify_dwh COMMAND [args]` runs bin/COMMAND: the container's entrypoint.

With EMBEDDED_STOP=1 (the image sets it) and no DATABASE_URL, the embedded PostgreSQL is stopped cleanly
once the command ends, whatever its outcome: a container's end would otherwise kill the server, which
then recovers from its WAL at the next start (nothing is lost, but the start is slower). A SIGTERM
(docker stop) is passed on to the command first.
"""

import signal
import subprocess
import sys

from .config import BIN_DIR as BIN


def main() -> int:
    commands = sorted(p.name for p in BIN.iterdir() if p.is_file())
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help", "help"}:
        print(f"usage: python -m sparkify_dwh {{{'|'.join(commands)}}} [args]\n"
              "example: docker run --rm -v sparkify-data:/home/sparkify/pgdata IMAGE load")
        return 0
    command = sys.argv[1]
    if command not in commands:
        sys.exit(f"error: unknown command {command!r}; one of {', '.join(commands)}")
    child = subprocess.Popen([sys.executable, str(BIN / command), *sys.argv[2:]])
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    try:
        code = child.wait()
    except KeyboardInterrupt:
        code = child.wait()
    _stop_embedded()
    return code


def _stop_embedded() -> None:
    from .config import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError:
        return
    if settings.embedded_stop and not settings.database_url:
        from . import embedded

        embedded.stop(settings.pgdata)


if __name__ == "__main__":
    sys.exit(main())
