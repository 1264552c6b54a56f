"""gunicorn settings for production: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Every value comes from the environment, with these defaults:
- GUNICORN_BIND: address to listen on. Default: 127.0.0.1:8000 (behind the proxy of
  deploy/nginx.conf on the same host; 0.0.0.0:8000 in a container).
- GUNICORN_WORKERS: worker processes. Default: 2 (about one per CPU core: each worker's threads
  share one GIL).
- GUNICORN_THREADS: threads per worker, i.e. requests one worker serves at once. Default: 8.
  Each thread keeps its own database connection: PostgreSQL must accept workers x threads
  connections (16 by default) besides Celery's.
- GUNICORN_WORKER_CONNECTIONS: connections one worker holds at once. Default: the number of
  threads, so that a worker whose threads are all busy (with slow clients, say) stops
  accepting and leaves new connections to a worker with a free thread. More allows keep-alive
  (see GUNICORN_KEEPALIVE) but lets a busy worker take connections it cannot serve yet.
- GUNICORN_KEEPALIVE: seconds an idle keep-alive connection stays open. Default: 0 (off): it
  needs GUNICORN_WORKER_CONNECTIONS above the threads, and the proxy's connections to
  gunicorn are not kept alive anyway (nginx's default).
- GUNICORN_TIMEOUT: seconds a worker may go silent before the arbiter restarts it. Default: 30.
- GUNICORN_GRACEFUL_TIMEOUT: seconds in-flight requests get to finish on a restart or stop.
  Default: 30.
- GUNICORN_LIMIT_REQUEST_LINE: longest request line, in bytes (longer: 414). Default: 4094.
- GUNICORN_LIMIT_REQUEST_FIELDS: most header fields in a request (more: 431). Default: 100.
- GUNICORN_LIMIT_REQUEST_FIELD_SIZE: longest header field, in bytes (longer: 431).
  Default: 8190.
- GUNICORN_MAX_REQUESTS: requests after which a worker is replaced (with up to 10% jitter),
  bounding any slow leak. Default: 0 (never).
- GUNICORN_LOG_LEVEL: gunicorn's own log level. Default: info.
- GUNICORN_ACCESS_LOG: where gunicorn writes an access log line per request ("-": stdout).
  Default: none, since Django logs one line per request already (logger
  "storefront.request", JSON in production, with its X-Request-ID).
- PROMETHEUS_MULTIPROC_DIR: directory where the workers write their Prometheus metrics, so
  that GET /metrics, whichever worker answers it, adds up every worker's (prometheus-client's
  multiprocess mode). It is emptied when gunicorn starts, and a dead worker's live values are
  dropped. Default: a temporary directory, created here and removed when gunicorn exits.

The worker class is not an option: config.gunicorn_worker.ThreadWorker is gunicorn's gthread
worker answering gunicorn's own errors (414, 431, 400) in the API's JSON error shape. How many
slow clients it tolerates, and the proxy for the rest, are in README.md (Production).
"""

import os
import shutil
import tempfile
from pathlib import Path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# Set before any worker imports prometheus_client, which picks its mode once, at import: the
# workers are forked from this process and inherit its environment.
_CREATED_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _CREATED_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="storefront-metrics-")
_METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
wsgi_app = "config.wsgi:application"
worker_class = "config.gunicorn_worker.ThreadWorker"
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 8)
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", threads)
keepalive = _int("GUNICORN_KEEPALIVE", 0)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)

limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 4094)
limit_request_fields = _int("GUNICORN_LIMIT_REQUEST_FIELDS", 100)
limit_request_field_size = _int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 8190)

max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10

loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# The default format, plus the X-Request-ID the answer carries (storefront/core/middleware.py).
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
)


def on_starting(server) -> None:
    """Empty the metrics directory: counters left by an earlier run would be added up too."""
    _METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for path in _METRICS_DIR.glob("*.db"):
        path.unlink()


def child_exit(server, worker) -> None:
    """Drop the live values (gauges) of a worker that exited; its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, path=str(_METRICS_DIR))


def on_exit(server) -> None:
    if _CREATED_METRICS_DIR:
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)
