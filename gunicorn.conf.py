"""gunicorn settings for production (`make serve-prod`): PostgreSQL + PostGIS
via DATABASE_URL, behind nginx (TLS, /static/ served directly). Every value can
be overridden from the environment (GUNICORN_*) or the command line."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Worker class. On PostgreSQL (production) gevent: a connection that trickles its
# headers or body (a phone on one bar of signal, or a slow-loris attack) waits in
# a greenlet instead of holding one of a few threads, so a dozen of them cannot
# stop the service even without nginx in front (psycopg 3 cooperates with
# gevent on its own). On SQLite, threads: SQLite's lock waits happen inside its C
# library, where gevent cannot switch, so a greenlet waiting for the write lock
# would block the one holding it.
_database = os.environ.get("DATABASE_URL", "")
worker_class = os.environ.get("GUNICORN_WORKER_CLASS",
                              "gevent" if _database.startswith("postgresql") else "gthread")
# Processes. Threads (SQLite): two per core plus one, as gunicorn's documentation
# suggests; the database does the waiting. gevent: one per core plus one, as a
# process already serves many connections, and more processes than cores only
# take turns on them (bench/ingest.py --field, c=8 on 2 cores: 3 processes answered
# more reports a second than 5, with a shorter tail and less CPU a report).
_cores = multiprocessing.cpu_count()
workers = int(os.environ.get("GUNICORN_WORKERS", _cores + 1 if worker_class == "gevent" else _cores * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))        # gthread only
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", 200))  # gevent only
# gevent only: how many requests of a worker run the app at once, after their
# bodies have been read (civic/serving.py); below the database pool's 15
# connections, as each request may hold two.
request_slots = int(os.environ.get("GUNICORN_REQUEST_SLOTS", 6))
# A phone on a weak signal uploads three photos slowly: let it finish.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak never grows without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = 500
# Behind nginx: trust its X-Forwarded-* (set CIVIC_TRUSTED_PROXIES=1 for the app too).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Production is served over TLS (nginx in front): the session and remember cookies
# are Secure unless CIVIC_SECURE_COOKIES=0 says this intranet has plain HTTP only.
os.environ.setdefault("CIVIC_SECURE_COOKIES", "1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def post_worker_init(worker):
    """Warm, before the first request, what that request would otherwise wait for:
    the Chinese dictionary of the keyword counts (~0.6 s to load in each worker).
    Under gevent, read each body before the app runs and bound how many run at once."""
    from civic.stats.keywords import keywords

    keywords("预热：垃圾桶满溢")
    if worker_class == "gevent":
        from civic.serving import BufferedRequests

        worker.wsgi = BufferedRequests(worker.wsgi, slots=request_slots, config=worker.wsgi.config)


def on_starting(server):
    """Say at start what an operator must know about this server's safety."""
    if os.environ["CIVIC_SECURE_COOKIES"].strip().lower() not in ("1", "true", "yes", "on"):
        server.log.warning("CIVIC_SECURE_COOKIES is off: login cookies travel over plain HTTP and can be read "
                           "on the network. Only for an intranet without TLS.")
    storage = os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL")
    if storage and storage.startswith("memory://"):
        server.log.warning("abuse limits count in each worker's memory (RATELIMIT_STORAGE_URI=memory://): "
                           "every worker allows the full limit. Use Redis or the database.")
    elif storage:
        server.log.info("abuse limits: counted in %s, shared by every worker", storage.split("://")[0])
    else:
        server.log.info("abuse limits: counted in the database (no REDIS_URL), shared by every worker")
