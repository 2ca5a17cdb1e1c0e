# A WSGI app for tests/it/app-gunicorn.sh: every answer names the porter
# worker (PORTER_WORKER_ID) and the process that served it.
#   GET /          "wsgi worker ID pid PID"
#   GET /health    "ok" (a readiness probe: 2xx once the app is imported)
#   GET /delay/MS  the same as /, after MS milliseconds
# Knobs, from the environment (porter's `env` directive):
#   APP_TAG=T           answers "T worker ..." instead of "wsgi worker ..."
#   APP_IMPORT_DELAY=S  the import takes S seconds (an app slow to load)
#   APP_DIE_AFTER=S     the process that imported it exits with status 3
#                       S seconds later: under gunicorn that is the worker,
#                       and gunicorn's arbiter takes status 3 as "Worker
#                       failed to boot" and exits (status 3) too.
# There is no "nosuchapp" here: "wsgi_app:nosuchapp" is the bad reload.
import os
import threading
import time

WORKER = os.environ.get("PORTER_WORKER_ID", "?")
TAG = os.environ.get("APP_TAG", "wsgi")

if os.environ.get("APP_IMPORT_DELAY"):
    time.sleep(float(os.environ["APP_IMPORT_DELAY"]))
if os.environ.get("APP_DIE_AFTER"):
    _t = threading.Timer(float(os.environ["APP_DIE_AFTER"]), os._exit, (3,))
    _t.daemon = True
    _t.start()


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/health":
        body = b"ok\n"
    else:
        if path.startswith("/delay/"):
            time.sleep(int(path[len("/delay/"):] or 0) / 1000.0)
        body = ("%s worker %s pid %d\n" % (TAG, WORKER, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body))),
                              ("X-Porter-Worker", WORKER)])
    return [body]
