# tests/apps/tag_server.py TAG [life=S] [delay=S] [term_ms=MS]: a small
# threaded HTTP/1.1 server on $PORT (an exec worker) that answers every GET
# with "TAG ID PID" (ID: $PORTER_WORKER_ID), so a test can tell generations
# and processes apart.
#   /wait/NAME  answers once the file NAME exists beside this script (the
#               tests copy it into their $WORK): the test says when.
#   life=S      exits with status 3 S seconds after it listens (0: never).
#   delay=S     sleeps S seconds before it listens (a slow start).
#   term_ms=MS  SIGTERM starts a shutdown that takes MS ms, then exits 0;
#               without, SIGTERM and SIGQUIT end it at once (Python's
#               defaults), cutting what it serves.
import http.server
import os
import signal
import sys
import threading
import time

tag = sys.argv[1]
opt = dict(a.split("=", 1) for a in sys.argv[2:])
here = os.path.dirname(os.path.abspath(__file__))


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/wait/"):
            name = os.path.join(here, self.path[6:])
            while not os.path.exists(name):
                time.sleep(0.05)
        body = ("%s %s %d\n" % (tag, os.environ.get("PORTER_WORKER_ID"),
                                os.getpid())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if "term_ms" in opt:
    def term(sig, frame):
        sys.stderr.write("server %d: SIGTERM, shutting down\n" % os.getpid())
        threading.Timer(int(opt["term_ms"]) / 1000,
                        lambda: os._exit(0)).start()
    signal.signal(signal.SIGTERM, term)
time.sleep(float(opt.get("delay", 0)))
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])),
                                      H)
if float(opt.get("life", 0)) > 0:
    threading.Timer(float(opt["life"]), lambda: os._exit(3)).start()
srv.serve_forever()
