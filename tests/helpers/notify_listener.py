#!/usr/bin/python3
"""Stand in for systemd's notification socket in tests.

Binds an AF_UNIX datagram socket at PATH (the test exports it as
NOTIFY_SOCKET to deadlined) and appends every datagram it receives to LOG,
one line each: "<seconds since start> <datagram with newlines as |>".
Exits by itself after --seconds (bounded), or when the socket file is
removed.
"""
import argparse
import os
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("log")
    ap.add_argument("--seconds", type=float, default=120)
    args = ap.parse_args()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(args.path)
    sock.settimeout(0.2)
    start = time.monotonic()
    with open(args.log, "a", buffering=1) as log:
        while time.monotonic() - start < args.seconds and os.path.exists(args.path):
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            text = data.decode("utf-8", "replace").strip().replace("\n", "|")
            log.write("%.3f %s\n" % (time.monotonic() - start, text))
    sock.close()


if __name__ == "__main__":
    main()
