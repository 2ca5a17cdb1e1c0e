# An ASGI app for tests/it/app-uvicorn.sh: every answer names the porter
# worker (PORTER_WORKER_ID) and the process that served it.
#   GET /          "app worker ID pid PID"
#   GET /health    "ok"
#   GET /delay/MS  the same as /, after MS milliseconds
# asgi_app:dying serves like app but exits (status 1) 2 s after its
# startup: a generation that comes up, is ready, then fails.
# There is no "nosuchapp" here: "asgi_app:nosuchapp" is the bad reload.
import asyncio
import os

WORKER = os.environ.get("PORTER_WORKER_ID", "?")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
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
        body = ("app worker %s pid %d\n" % (WORKER, os.getpid())).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode()),
                            (b"x-porter-worker", WORKER.encode())]})
    await send({"type": "http.response.body", "body": body})


async def dying(scope, receive, send):
    if scope["type"] == "lifespan":
        asyncio.get_running_loop().call_later(2, os._exit, 1)
    await app(scope, receive, send)
