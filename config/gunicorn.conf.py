"""gunicorn settings for pos-loyalty: `gunicorn -c config/gunicorn.conf.py`.

Environment: GUNICORN_BIND (default 0.0.0.0:8000), GUNICORN_WORKERS (default 2 per core + 1),
GUNICORN_TIMEOUT (30 s), GUNICORN_GRACEFUL_TIMEOUT (30 s), PROMETHEUS_MULTIPROC_DIR (a folder
the workers write their metrics to; made under /tmp when unset, emptied at every start).
"""
import glob
import multiprocessing
import os
import tempfile

wsgi_app = "pos_loyalty.wsgi:app"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# Sync workers: a request is a few short database round trips, no long polling.
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# SIGTERM (a deploy): workers finish the requests in hand, for at most this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# Off: each worker builds the app after the fork, so no database connection or pool is
# shared between processes, the metrics of each worker go to its own files (the multiprocess
# mode is chosen when prometheus_client is first imported), and a HUP reloads new code.
preload_app = False

# The access log: no path (it may hold a card number), no query string, no client address;
# the app's own JSON line names the request's URL rule under the same request id.
accesslog = "-"
access_log_format = '"%(m)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"

# Prometheus multiprocess mode: prometheus_client picks it when first imported, so the folder
# is set here, before anything imports it (the workers inherit the master's modules).
metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                                    tempfile.mkdtemp(prefix="pos-loyalty-metrics-"))


def on_starting(server):
    """Files left by an earlier run would add its counts to this one's."""
    os.makedirs(metrics_dir, exist_ok=True)
    for stale in glob.glob(os.path.join(metrics_dir, "*.db")):
        os.remove(stale)


def child_exit(server, worker):
    """A dead worker's live gauges leave the scrape; its counters stay counted."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
