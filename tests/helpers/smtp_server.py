#!/usr/bin/python3
"""smtp_server.py: an SMTP server for the integration tests (aiosmtpd).

Listens on 127.0.0.1 (--port, or a free port) and writes the port to
--port-file once it accepts connections.  --tls says how it speaks TLS:
    starttls  STARTTLS offered and required before anything else (default)
    smtps     implicit TLS from the first byte
    none      no TLS at all, and no AUTH needed: a client that sends here
              would be sending in clear
With --user and --password-file, AUTH (PLAIN or LOGIN) is required.
Recipients: --refuse ADDR answers RCPT with 550, --tempfail ADDR with 451,
--stall ADDR never answers it (until the server exits).  --reject-data TEXT
answers 554 at the end of a message that contains TEXT.
Each message accepted is saved in --out as NNNN.eml (the data exactly as
received) and then NNNN.json: {"mail_from", "rcpt_tos", "conn" (the
connection's number, from 1), "tls"}.  Counts of connections and failed
logins go to --out/stats.json.  Exits by itself after --lifetime seconds.
"""
import argparse
import asyncio
import json
import os
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

STATS = {"connections": 0, "auth_failures": 0, "messages": 0}


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def save_stats():
    write_atomic(os.path.join(ARGS.out, "stats.json"), json.dumps(STATS).encode())


def count(key):
    STATS[key] += 1
    save_stats()
    return STATS[key]


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == ARGS.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        if address == ARGS.tempfail:
            return "451 4.3.0 <%s>: Try again later" % address
        if address == ARGS.stall:
            await asyncio.sleep(ARGS.lifetime)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if ARGS.reject_data and ARGS.reject_data.encode() in envelope.original_content:
            return "554 5.6.0 Message content rejected"
        n = count("messages")
        base = os.path.join(ARGS.out, "%04d" % n)
        write_atomic(base + ".eml", envelope.original_content)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "conn": server.conn_no, "tls": session.ssl is not None or ARGS.tls == "smtps"}
        write_atomic(base + ".json", json.dumps(meta).encode())
        return "250 2.0.0 Ok: queued as %04d" % n


class CountingSMTP(SMTP):
    """Numbers each connection (a STARTTLS upgrade is the same one)."""
    conn_no = 0

    def connection_made(self, transport):
        if self.transport is None:
            self.conn_no = count("connections")
        super().connection_made(transport)


def authenticator(server, session, envelope, mechanism, auth_data):
    good = (isinstance(auth_data, LoginPassword) and auth_data.login == ARGS.user.encode()
            and auth_data.password == PASSWORD)
    if not good:
        count("auth_failures")
    # handled=False: aiosmtpd itself answers 535 to a failed login.
    return AuthResult(success=good, handled=False)


def tls_context():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    return ctx


def factory(loop, ctx):
    kw = {"hostname": "smtp.test", "loop": loop, "timeout": ARGS.lifetime}
    if ARGS.user:
        kw.update(authenticator=authenticator, auth_required=True)
    if ARGS.tls == "starttls":
        kw.update(tls_context=ctx, require_starttls=True)
    elif ARGS.tls == "smtps":
        kw.update(auth_require_tls=False)   # the whole connection is TLS
    else:
        kw.update(auth_required=False)
    return lambda: CountingSMTP(Handler(), **kw)


def main():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ctx = tls_context() if ARGS.tls != "none" else None
    server = loop.run_until_complete(loop.create_server(
        factory(loop, ctx), "127.0.0.1", ARGS.port,
        ssl=ctx if ARGS.tls == "smtps" else None))
    save_stats()
    write_atomic(ARGS.port_file, b"%d\n" % server.sockets[0].getsockname()[1])
    loop.run_until_complete(asyncio.sleep(ARGS.lifetime))
    server.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--tls", choices=("starttls", "smtps", "none"), default="starttls")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password-file")
    p.add_argument("--refuse")
    p.add_argument("--tempfail")
    p.add_argument("--stall")
    p.add_argument("--reject-data")
    p.add_argument("--lifetime", type=float, default=60)
    ARGS = p.parse_args()
    if ARGS.tls != "none" and not (ARGS.cert and ARGS.key):
        p.error("--tls %s needs --cert and --key" % ARGS.tls)
    if bool(ARGS.user) != bool(ARGS.password_file):
        p.error("give --user and --password-file together")
    PASSWORD = open(ARGS.password_file, "rb").read().rstrip(b"\r\n") if ARGS.user else None
    os.makedirs(ARGS.out, exist_ok=True)
    main()
