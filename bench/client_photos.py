"""What a report costs the phone's data plan, and what the app costs to load.

1. Bytes sent for a report made from the shared 3264×2448 phone photo, shrunk
   in Debian's Chromium by the app's own photos.js, measured as the exact
   multipart body the outbox sends; baseline: the same report with the
   original photo. Goal: ≤ 1/5 of the original, at ≥ 1600 px long side.
2. The app shell's JS + CSS (every file the service worker precaches),
   gzipped; baseline: the same files uncompressed. Goal: ≤ 200 KB gzipped.

    .venv/bin/python bench/client_photos.py
"""
import gzip
import json
import logging
import threading
import time

from _common import ROOT, SHARED_PHOTOS, make_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
GOAL_RATIO, GOAL_SIDE, GOAL_SHELL_KB = 1 / 5, 1600, 200

MEASURE = """async () => {
  const { preparePhoto } = await import('/static/js/photos.js');
  const original = await (await fetch('/bench/phone.jpg')).blob();
  const file = new File([original], 'phone.jpg', { type: 'image/jpeg' });
  const meta = JSON.stringify({ client_id: crypto.randomUUID(), category: 'E0101', description: '',
    lat: 36.58, lng: 116.25, accuracy_m: 8, location_source: 'device', captured_at: new Date().toISOString() });
  const body = async (blob) => { const f = new FormData(); f.append('meta', meta); f.append('photo', blob, 'photo.jpg');
    return (await new Response(f).arrayBuffer()).byteLength; };
  const started = performance.now();
  const prepared = await preparePhoto(file);
  const ms = performance.now() - started;
  return { original: await body(file), shrunk: await body(prepared.blob), width: prepared.width, height: prepared.height, ms };
}"""


def shell_sizes(app=None):
    """(raw, gzipped) bytes of the shell's JS and CSS: the files the service worker
    precaches, as the server lists them into sw.js (devices/shell.py)."""
    from civic.devices.shell import shell_of

    urls = list(shell_of(app or make_app()).urls)
    raw = gz = 0
    for url in urls:
        if url.startswith("/static/") and url.endswith((".js", ".css")):
            data = (ROOT / "civic" / url.lstrip("/")).read_bytes()
            raw += len(data)
            gz += len(gzip.compress(data, 9))
    return raw, gz


def main():
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    logging.disable(logging.WARNING)
    app = make_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    photo = (SHARED_PHOTOS / "mobile" / "jolla.jpg").read_bytes()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.route("**/bench/phone.jpg", lambda route: route.fulfill(body=photo, content_type="image/jpeg"))
        page.goto(f"{base}/static/icons/icon.svg")  # any page of the origin, for the module import
        runs = [page.evaluate(MEASURE) for _ in range(3)]
        browser.close()
    server.shutdown()
    result = min(runs, key=lambda r: r["ms"])
    ratio = result["shrunk"] / result["original"]
    side = max(result["width"], result["height"])
    raw, gz = shell_sizes(app)
    print(f"report bytes: original photo {result['original']:,} B, shrunk on the phone {result['shrunk']:,} B "
          f"→ {ratio:.3f} of the original (1/{1 / ratio:.1f}); long side {side} px; "
          f"shrinking took {result['ms']:.0f} ms in Chromium (goal ≤ 1/5 at ≥ {GOAL_SIDE} px: "
          f"{'met' if ratio <= GOAL_RATIO and side >= GOAL_SIDE else 'NOT met'})")
    print(f"app shell JS+CSS: {gz / 1024:.1f} KB gzipped vs {raw / 1024:.1f} KB raw ({raw / gz:.1f}× smaller; "
          f"goal ≤ {GOAL_SHELL_KB} KB: {'met' if gz / 1024 <= GOAL_SHELL_KB else 'NOT met'})")
    print(json.dumps({"original_bytes": result["original"], "sent_bytes": result["shrunk"], "ratio": round(ratio, 4),
                      "long_side": side, "shell_gzip_bytes": gz, "shell_raw_bytes": raw}))


if __name__ == "__main__":
    start = time.perf_counter()
    main()
