#!/usr/bin/python3
"""webhook_server.py: an HTTPS webhook receiver for the integration tests.

Listens on 127.0.0.1 (a free port, written to --port-file), verifies each
request's Standard Webhooks signature against the secrets it was given, and
appends one JSON line a request to --log:
    {"path", "headers" (names lower-cased), "body", "verified" (true, false,
     or null when unsigned or no secrets), "signed_by" (the label of the
     secret that matched), "conn" (connection number), "concurrent"
     (requests to the same path in progress, this one included), "time",
     "as" (the behaviour it was answered with: ok, fail, slow, ...)}
It answers by the first part of the path:
    /ok      204                      /bad       400
    /fail    500 with a two-line body /redirect  302 to /ok
    /busy    429, Retry-After: 7      /busydate  503, Retry-After: an HTTP-date 120 s on
    /slow    sleeps --slow seconds    /reset     closes the connection (RST), no answer
    /flaky   500 the first time a webhook-id is seen, then 204
    /stream  200, then a chunked body that never ends (16 KiB every 10 ms)
    /trickle 200, then a chunked body of one byte a second, never ending
    /drip    the status line itself one byte a second, never ending
    /mode    as the path named by the first word of --mode-file, read at
             each request (ok when the file is missing or empty), so a
             test can break and mend the receiver without restarting it
    other    404
A query "?delay=SECONDS" (at most 5) waits before answering.  Counts of
connections and TLS handshake failures go to --stats (rewritten on every change).  Exits by itself after
--lifetime seconds.  Standard library only.
"""
import argparse
import base64
import email.utils
import hashlib
import hmac
import http.server
import json
import os
import socket
import ssl
import struct
import threading
import time
import urllib.parse

LOCK = threading.Lock()
STATS = {"connections": 0, "tls_failures": 0}
IN_FLIGHT = {}
SEEN = {}


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def count(key, delta=1):
    with LOCK:
        STATS[key] += delta
        write_atomic(ARGS.stats, json.dumps(STATS))
        return STATS[key]


def in_flight(kind, delta):
    with LOCK:
        IN_FLIGHT[kind] = IN_FLIGHT.get(kind, 0) + delta
        return IN_FLIGHT[kind]


def load_secret(spec):
    label, _, path = spec.partition("=")
    with open(path, "rb") as f:
        secret = f.read().rstrip(b"\r\n")
    if secret.startswith(b"whsec_"):
        secret = base64.b64decode(secret[6:], validate=True)
    return label, secret


def read_mode():
    try:
        with open(ARGS.mode_file) as f:
            words = f.read().split()
    except (OSError, TypeError):
        words = []
    return words[0] if words and words[0] != "mode" else "ok"


def verify(headers, body):
    """(verified, label of the matching secret)"""
    given = headers.get("webhook-signature")
    if not given or not ARGS.secret:
        return None, None
    signed = "%s.%s." % (headers.get("webhook-id", ""), headers.get("webhook-timestamp", ""))
    for label, key in SECRETS:
        want = base64.b64encode(hmac.new(key, signed.encode() + body, hashlib.sha256).digest())
        for sig in given.split():
            version, _, value = sig.partition(",")
            if version == "v1" and hmac.compare_digest(value.encode(), want):
                return True, label
    return False, None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass

    def record(self, body, concurrent, kind):
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified, label = verify(headers, body)
        line = {"path": self.path, "headers": headers, "body": body.decode("utf-8", "replace"),
                "verified": verified, "signed_by": label, "conn": self.server_conn,
                "concurrent": concurrent, "time": time.time(), "as": kind}
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(line) + "\n")
        return headers

    def answer(self, status, body=b"", extra=()):
        self.send_response(status)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        kind = url.path.strip("/").split("/")[0]
        if kind == "mode":
            kind = read_mode()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            headers = self.record(body, in_flight(url.path, 1), kind)
            delay = float(urllib.parse.parse_qs(url.query).get("delay", ["0"])[0])
            time.sleep(min(delay, 5.0))
            self.respond(kind, headers)
        finally:
            in_flight(url.path, -1)

    def respond(self, kind, headers):
        if kind == "ok":
            self.answer(204)
        elif kind == "fail":
            self.answer(500, b"internal error\nsecond line " + b"x" * 200)
        elif kind == "busy":
            self.answer(429, b"slow down", [("Retry-After", "7")])
        elif kind == "busydate":
            when = email.utils.formatdate(time.time() + 120, usegmt=True)
            self.answer(503, b"", [("Retry-After", when)])
        elif kind == "slow":
            time.sleep(ARGS.slow)
            self.answer(204)
        elif kind == "reset":
            self.reset()
        elif kind == "redirect":
            self.answer(302, b"", [("Location", "/ok/redirected")])
        elif kind == "bad":
            self.answer(400, b"bad request")
        elif kind == "flaky":
            with LOCK:
                seen = SEEN.get(headers.get("webhook-id"), 0)
                SEEN[headers.get("webhook-id")] = seen + 1
            self.answer(500 if seen == 0 else 204, b"flaky" if seen == 0 else b"")
        elif kind in ("stream", "trickle"):
            self.endless(kind)
        elif kind == "drip":
            for b in b"HTTP/1.1 200 OK\r\n" * 1000:
                self.wfile.write(bytes([b]))
                self.wfile.flush()
                time.sleep(1)
        else:
            self.answer(404, b"no such path")

    def endless(self, kind):
        """A 200 whose body never ends, until the client hangs up."""
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"x" * 16384 if kind == "stream" else b"x"
        try:
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                time.sleep(0.01 if kind == "stream" else 1)
        except OSError:
            pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def finish_request(self, request, client_address):
        # The handshake runs in the connection's thread, so a client that
        # never completes one does not hold up the others.
        request.settimeout(5)
        try:
            tls = CONTEXT.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            count("tls_failures")
            return
        tls.settimeout(30)
        conn = count("connections")
        handler = type("ConnHandler", (Handler,), {"server_conn": conn})
        try:
            handler(tls, client_address, self)
        except OSError:
            pass
        finally:
            tls.close()

    def handle_error(self, request, client_address):
        pass


def main():
    global ARGS, SECRETS, CONTEXT
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--secret", action="append", default=[], help="LABEL=FILE")
    p.add_argument("--slow", type=float, default=10)
    p.add_argument("--lifetime", type=float, default=120)
    p.add_argument("--mode-file", help="what /mode answers as (see above)")
    ARGS = p.parse_args()
    SECRETS = [load_secret(s) for s in ARGS.secret]
    CONTEXT = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    CONTEXT.load_cert_chain(ARGS.cert, ARGS.key)
    timer = threading.Timer(ARGS.lifetime, os._exit, [0])
    timer.daemon = True
    timer.start()
    server = Server(("127.0.0.1", 0), Handler)
    count("connections", 0)
    write_atomic(ARGS.port_file, str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
