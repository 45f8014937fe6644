#!/usr/bin/python3
"""Check a lease journal (tests/tools/dl-lease.c) and the lease history.

    lease_check.py JOURNAL [HISTORY]

JOURNAL has WIN/ACT/RESIGNED lines on one machine-wide clock (ms).  HISTORY,
when given, is `psql -At -F ' '` output of
    SELECT epoch, holder, extract(epoch FROM acquired_at) * 1000,
           extract(epoch FROM expires_at) * 1000 FROM deadlined_lease_history
in database time (ms).  Fails (exit 1, one line a problem) when:
  - two epochs' local trust windows overlap, or an epoch's holder changes;
  - an action lies outside its own epoch's window;
  - an action of an older epoch comes after one of a newer epoch;
  - two epochs' intervals in the history overlap (database time).
Prints "epochs N acts M" and, for each RESIGNED, "handover_ms X" (from the
resignation to the next epoch's first trusted moment).
"""
import sys


def main():
    wins, acts, resigned = {}, [], []
    problems = []
    with open(sys.argv[1]) as f:
        for n, line in enumerate(f, 1):
            w = line.split()
            if not w:
                continue
            if w[0] == "WIN" and len(w) == 5:
                e, frm, until = int(w[1]), int(w[3]), int(w[4])
                if e in wins:
                    if wins[e][0] != w[2]:
                        problems.append(f"epoch {e} held by {wins[e][0]} and {w[2]}")
                    wins[e] = (w[2], min(wins[e][1], frm), max(wins[e][2], until))
                else:
                    wins[e] = (w[2], frm, until)
            elif w[0] == "ACT" and len(w) == 4:
                acts.append((int(w[3]), int(w[1]), w[2]))
            elif w[0] == "RESIGNED" and len(w) == 4:
                resigned.append((int(w[1]), int(w[3])))
            else:
                problems.append(f"journal line {n} not understood: {line.strip()}")
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
    for at, e, holder in sorted(acts):
        if e not in wins:
            problems.append(f"act of epoch {e} by {holder} at {at} with no window")
            continue
        inside = at <= wins[e][2] if e in ends_at_resign else at < wins[e][2]
        if not (wins[e][1] <= at and inside):
            problems.append(f"act of epoch {e} by {holder} at {at} outside "
                            f"[{wins[e][1]}, {wins[e][2]})")
        if e < newest:
            problems.append(f"act of epoch {e} by {holder} at {at} after epoch {newest} acted")
        newest = max(newest, e)
    for e, at in resigned:
        later = [wins[x][1] for x in order if x > e]
        if later:
            print(f"handover_ms {later[0] - at}")
    if len(sys.argv) > 2:
        hist = []
        with open(sys.argv[2]) as f:
            for line in f:
                w = line.split()
                if len(w) == 4:
                    hist.append((int(w[0]), w[1], float(w[2]), float(w[3])))
        hist.sort()
        for (e1, h1, _, x1), (e2, h2, a2, _) in zip(hist, hist[1:]):
            if e2 != e1 + 1:
                problems.append(f"history: epoch {e1} followed by {e2}")
            if x1 >= a2:
                problems.append(f"history: epoch {e1} ({h1}) expires at {x1:.3f}, "
                                f"after epoch {e2} ({h2}) began at {a2:.3f}")
        print(f"history {len(hist)}")
    print(f"epochs {len(wins)} acts {len(acts)}")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
