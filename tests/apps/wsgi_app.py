# A WSGI app for tests/it/app-gunicorn.sh: every answer names the porter
# worker (PORTER_WORKER_ID) and the process that served it.
#   GET /          "app worker ID pid PID"
#   GET /health    "ok" (a readiness probe: 2xx once the app is imported)
#   GET /delay/MS  the same as /, after MS milliseconds
# There is no "nosuchapp" here: "wsgi_app:nosuchapp" is the bad reload.
import os
import time

WORKER = os.environ.get("PORTER_WORKER_ID", "?")


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/health":
        body = b"ok\n"
    else:
        if path.startswith("/delay/"):
            time.sleep(int(path[len("/delay/"):] or 0) / 1000.0)
        body = ("app worker %s pid %d\n" % (WORKER, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body))),
                              ("X-Porter-Worker", WORKER)])
    return [body]
