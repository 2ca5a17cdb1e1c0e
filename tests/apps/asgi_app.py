# An ASGI app for tests/it/app-uvicorn.sh: every answer names the porter
# worker (PORTER_WORKER_ID) and the process that served it.
#   GET /          "asgi worker ID pid PID"
#   GET /health    "ok" (a readiness probe)
#   GET /delay/MS  the same as /, after MS milliseconds
# Knobs, from the environment (porter's `env` directive):
#   APP_TAG=T           answers "T worker ..." instead of "asgi worker ..."
#   APP_IMPORT_DELAY=S  the import takes S seconds (an app slow to load)
#   APP_DIE_AFTER=S     the process exits with status 3 S seconds after the
#                       import: it comes up, serves, then fails
#   APP_NOTIFY=1        the one line an app needs for `ready_check notify`:
#                       READY=1 to $NOTIFY_SOCKET once its startup is done
# There is no "nosuchapp" here: "asgi_app:nosuchapp" is the bad reload.
import asyncio
import os
import socket
import threading
import time

WORKER = os.environ.get("PORTER_WORKER_ID", "?")
TAG = os.environ.get("APP_TAG", "asgi")

if os.environ.get("APP_IMPORT_DELAY"):
    time.sleep(float(os.environ["APP_IMPORT_DELAY"]))
if os.environ.get("APP_DIE_AFTER"):
    _t = threading.Timer(float(os.environ["APP_DIE_AFTER"]), os._exit, (3,))
    _t.daemon = True
    _t.start()


def sd_notify(state):
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr[0] == "@":
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(state.encode(), addr)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
                if os.environ.get("APP_NOTIFY") == "1":
                    sd_notify("READY=1\nSTATUS=asgi app started")
                await send({"type": "lifespan.startup.complete"})
            elif m["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path = scope.get("path", "/")
    if path == "/health":
        body = b"ok\n"
    else:
        if path.startswith("/delay/"):
            await asyncio.sleep(int(path[len("/delay/"):] or 0) / 1000.0)
        body = ("%s worker %s pid %d\n" % (TAG, WORKER, os.getpid())).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode()),
                            (b"x-porter-worker", WORKER.encode())]})
    await send({"type": "http.response.body", "body": body})
