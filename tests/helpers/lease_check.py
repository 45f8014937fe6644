#!/usr/bin/python3
"""Check a lease journal (tests/tools/dl-lease.c), the lease history and,
for outbox workers, what the receiver itself logged.

    lease_check.py JOURNAL [--history FILE [--takeover-ms T] [--excuse FROM TO]...]
                   [--receiver-log FILE --messages N]

JOURNAL has WIN/ACT/RESIGNED (and SEND/MARKED/FENCED) lines on one
machine-wide clock (ms).  --history is `psql -At -F ' '` output of
    SELECT epoch, holder, extract(epoch FROM acquired_at) * 1000,
           extract(epoch FROM expires_at) * 1000 FROM deadlined_lease_history
in database time (ms), optionally followed by
           extract(epoch FROM renewed_at) * 1000, resigned
(the lease_history helper of lease_lib.sh writes all six).  With those,
--takeover-ms T asserts every takeover from a lease that lapsed (not
resigned) came within T ms of its holder's last renewal, and every one after
a resignation within 1,000 ms of it, all in database time; a takeover whose
span meets an --excuse window (ms; e.g. PostgreSQL restarting, when nobody
can take) is counted but not judged.  --receiver-log is webhook_server.py's log; the
messages enqueued were m1 .. mN.  Fails (exit 1, one line a problem) when:
  - two epochs' local trust windows overlap, or an epoch's holder changes;
  - an action or a send lies outside its own epoch's window (a stale leader);
  - an action or send of an older epoch comes after one of a newer epoch;
  - two epochs' intervals in the history overlap (database time);
  - a takeover in the history was slower than --takeover-ms (lapsed) or
    1,000 ms (resigned);
  - a message never reached the receiver (lost), reached it more often than
    it was sent, or twice without the first send being in flight at a
    failure (a SEND that was never MARKED).
Prints "epochs N acts M", "handover_ms X" for each RESIGNED (from the
resignation to the next epoch's first trusted moment), and for a receiver
"delivered N duplicates D in_flight F".
"""
import argparse
import json
from collections import Counter


def read_journal(path, problems):
    wins, acts, resigned, sends, marked = {}, [], [], [], set()
    with open(path) as f:
        for n, line in enumerate(f, 1):
            w = line.split()
            if not w:
                continue
            kind = w[0]
            if kind == "WIN" and len(w) == 5:
                e, frm, until = int(w[1]), int(w[3]), int(w[4])
                if e in wins:
                    if wins[e][0] != w[2]:
                        problems.append(f"epoch {e} held by {wins[e][0]} and {w[2]}")
                    wins[e] = (w[2], min(wins[e][1], frm), max(wins[e][2], until))
                else:
                    wins[e] = (w[2], frm, until)
            elif kind == "ACT" and len(w) == 4:
                acts.append((int(w[3]), int(w[1]), w[2], "act"))
            elif kind == "SEND" and len(w) == 5:
                acts.append((int(w[3]), int(w[1]), w[2], "send " + w[4]))
                sends.append((int(w[1]), w[4]))
            elif kind in ("MARKED", "FENCED") and len(w) == 5:
                if kind == "MARKED":
                    marked.add((int(w[1]), w[4]))
            elif kind == "RESIGNED" and len(w) == 4:
                resigned.append((int(w[1]), int(w[3])))
            else:
                problems.append(f"journal line {n} not understood: {line.strip()}")
    return wins, acts, resigned, sends, marked


def check_windows(wins, acts, resigned, problems):
    # A resignation ends the window there, whatever the last renewal said;
    # an action in the same millisecond came before it (the journal is
    # written in program order).
    ends_at_resign = set()
    for e, at in resigned:
        if e in wins and at < wins[e][2]:
            wins[e] = (wins[e][0], wins[e][1], at)
            ends_at_resign.add(e)
    order = sorted(wins)
    for a, b in zip(order, order[1:]):
        if wins[a][2] > wins[b][1]:
            problems.append(f"epochs {a} ({wins[a][0]}) and {b} ({wins[b][0]}) overlap: "
                            f"{a} trusted until {wins[a][2]}, {b} from {wins[b][1]}")
    newest = 0
    for at, e, holder, what in sorted(acts):
        if e not in wins:
            problems.append(f"{what} of epoch {e} by {holder} at {at} with no window")
            continue
        inside = at <= wins[e][2] if e in ends_at_resign else at < wins[e][2]
        if not (wins[e][1] <= at and inside):
            problems.append(f"{what} of epoch {e} by {holder} at {at} outside "
                            f"[{wins[e][1]}, {wins[e][2]})")
        if e < newest:
            problems.append(f"{what} of epoch {e} by {holder} at {at} after epoch "
                            f"{newest} acted")
        newest = max(newest, e)
    for e, at in resigned:
        later = [wins[x][1] for x in order if x > e]
        if later:
            print(f"handover_ms {later[0] - at}")


def read_history(path):
    """(epoch, holder, acquired, expires, renewed or None, resigned or None)"""
    hist = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) in (4, 6):
                renewed = float(w[4]) if len(w) == 6 and w[4] != "-" else None
                resigned = w[5] == "t" if len(w) == 6 else None
                hist.append((int(w[0]), w[1], float(w[2]), float(w[3]), renewed, resigned))
    return sorted(hist)


def spread(xs):
    xs = sorted(xs)
    if not xs:
        return "none"
    return f"{xs[0]:.0f} / {xs[len(xs) // 2]:.0f} / {xs[-1]:.0f} ms (n {len(xs)})"


def check_takeovers(hist, limit, excuses, problems):
    """Each takeover's delay in database time: from the last renewal of a
    lease that lapsed, from the resignation of one given up."""
    lapsed, handed, excused = [], [], 0
    for (e1, h1, _, x1, r1, res1), (e2, h2, a2, _, _, _) in zip(hist, hist[1:]):
        if e2 != e1 + 1 or res1 is None or (not res1 and r1 is None):
            continue
        start = x1 if res1 else r1
        if any(start <= to and a2 >= frm for frm, to in excuses):
            excused += 1
            continue
        ms = a2 - start
        (handed if res1 else lapsed).append(ms)
        bound = 1000 if res1 else limit
        if ms > bound:
            what = "resigned at" if res1 else "last renewed at"
            problems.append(f"history: epoch {e2} ({h2}) took over {ms:.0f} ms after epoch "
                            f"{e1} ({h1}) {what} {start:.0f} (bound {bound} ms)")
    print(f"takeover_db lapsed {spread(lapsed)}; resigned {spread(handed)}; "
          f"excused {excused}")


def check_history(path, problems, takeover_ms=None, excuses=()):
    hist = read_history(path)
    for (e1, h1, _, x1, _, _), (e2, h2, a2, _, _, _) in zip(hist, hist[1:]):
        if e2 != e1 + 1:
            problems.append(f"history: epoch {e1} followed by {e2}")
        if x1 >= a2:
            problems.append(f"history: epoch {e1} ({h1}) expires at {x1:.3f}, "
                            f"after epoch {e2} ({h2}) began at {a2:.3f}")
    if takeover_ms is not None:
        check_takeovers(hist, takeover_ms, excuses, problems)
    print(f"history {len(hist)}")


def check_receiver(path, messages, sends, marked, problems):
    got = Counter()
    with open(path) as f:
        for line in f:
            if line.strip():
                got[json.loads(line)["headers"].get("webhook-id")] += 1
    sent = Counter(m for _, m in sends)
    in_flight = Counter(m for e, m in sends if (e, m) not in marked)
    dups = 0
    for i in range(1, messages + 1):
        m = f"m{i}"
        if got[m] == 0:
            problems.append(f"{m} never reached the receiver (lost)")
        if got[m] > sent[m]:
            problems.append(f"{m} reached the receiver {got[m]} times, sent {sent[m]}")
        if got[m] > 1:
            dups += got[m] - 1
            if in_flight[m] < got[m] - 1:
                problems.append(f"{m} delivered {got[m]} times but only {in_flight[m]} "
                                f"send(s) were cut off before being marked")
    extra = set(got) - {f"m{i}" for i in range(1, messages + 1)}
    if extra:
        problems.append(f"the receiver got messages never enqueued: {sorted(extra)[:5]}")
    print(f"delivered {sum(1 for i in range(1, messages + 1) if got[f'm{i}'])} "
          f"duplicates {dups} in_flight {sum(in_flight.values())}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("journal")
    ap.add_argument("--history")
    ap.add_argument("--takeover-ms", type=float)
    ap.add_argument("--excuse", nargs=2, type=float, action="append", default=[])
    ap.add_argument("--receiver-log")
    ap.add_argument("--messages", type=int, default=0)
    args = ap.parse_args()
    problems = []
    wins, acts, resigned, sends, marked = read_journal(args.journal, problems)
    check_windows(wins, acts, resigned, problems)
    if args.history:
        check_history(args.history, problems, args.takeover_ms, args.excuse)
    if args.receiver_log:
        check_receiver(args.receiver_log, args.messages, sends, marked, problems)
    print(f"epochs {len(wins)} acts {len(acts)}")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
