"""Serve the app in its own process, so a browser test can kill it (SIGKILL,
mid-request) and start it again on the same port, as a crashed server would be
restarted. Configured by the environment like production (DATABASE_URL, PHOTO_DIR).

    python tests/e2e/serve.py PORT
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from werkzeug.serving import make_server  # noqa: E402

from civic import create_app  # noqa: E402


def main():
    port = int(sys.argv[1])
    server = make_server("127.0.0.1", port, create_app(), threaded=True)
    print(f"serving on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
