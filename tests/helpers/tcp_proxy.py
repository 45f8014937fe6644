#!/usr/bin/python3
"""A TCP proxy on 127.0.0.1 that can go silent, for half-open link tests.

    tcp_proxy.py PORT_FILE TARGET_PORT [--seconds N]

Listens on a free loopback port (written to PORT_FILE once listening) and
forwards every connection to 127.0.0.1:TARGET_PORT.  SIGUSR1 makes it a
black hole: it stops reading and forwarding in both directions but keeps
every socket open, so the kernel still acknowledges what the client sends
and neither end sees a FIN or RST (a half-open link, as when a firewall or
a dead VM drops traffic).  New connections are then accepted and never
forwarded.  SIGUSR2 forwards again.  Exits after --seconds (bounded).
"""
import argparse
import select
import signal
import socket
import threading
import time

silent = threading.Event()


def pump(a, b, stop):
    socks = [a, b]
    while not stop.is_set():
        if silent.is_set():
            time.sleep(0.05)
            continue
        r, _, _ = select.select(socks, [], [], 0.1)
        for s in r:
            if silent.is_set():
                break
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                stop.set()
                break
            (b if s is a else a).sendall(data)
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port_file")
    ap.add_argument("target_port", type=int)
    ap.add_argument("--seconds", type=float, default=300)
    args = ap.parse_args()
    signal.signal(signal.SIGUSR1, lambda *_: silent.set())
    signal.signal(signal.SIGUSR2, lambda *_: silent.clear())
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", 0))
    lst.listen(16)
    lst.settimeout(0.2)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(lst.getsockname()[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    end = time.monotonic() + args.seconds
    kept = []
    while time.monotonic() < end:
        try:
            c, _ = lst.accept()
        except socket.timeout:
            continue
        if silent.is_set():
            kept.append(c)   # accepted, never answered
            continue
        try:
            s = socket.create_connection(("127.0.0.1", args.target_port), timeout=5)
        except OSError:
            c.close()
            continue
        threading.Thread(target=pump, args=(c, s, threading.Event()), daemon=True).start()


if __name__ == "__main__":
    main()
