#!/usr/bin/python3
"""gen-demo.py - write a synthetic case database for deadlined.

    /usr/bin/python3 tools/gen-demo.py --out demo/cases.db [--seed 42]
        [--cases 2400] [--as-of 2026-11-23] [--schema conf/schema/native.sql]
        [--stats]

Creates a fresh SQLite file (OUT.tmp, then renamed over OUT) from
conf/schema/native.sql and fills the four relations of the case-database
contract (DESIGN.md) with made-up episodes whose event timelines exercise
the default rule pack (STATUTORY-RULES.md, conf/rules/): referrals, section
47 enquiries and child protection plans, looked-after episodes, missing
episodes, care proceedings, EHC requests and staff observations.

Everything is invented: children are C000123, staff STAFF-0042, workers
come from a small list of fictional names, addresses are @council.example.

Most obligations are met on time, a minority late, some still open, some
overdue and some due within the next few days as of --as-of. About a dozen
deliberately bad rows (impossible or foreign dates, unknown or NULL kinds,
an event before birth, a met event with no start, unknown or NULL team,
unknown worker, an orphan event) test the data-quality findings.

The output depends only on --seed, --cases and --as-of (which defaults to
today). Standard library only. --stats prints, on stderr, the generator's
own view of the obligations it meant to create and the list of bad rows.
"""

import argparse
import collections
import datetime as dt
import os
import random
import sqlite3
import sys

D = dt.date
DAY = dt.timedelta(days=1)

# Rule-version boundaries (STATUTORY-RULES.md, conf/rules/).
SINGLE_ASSESSMENT_FROM = D(2013, 4, 15)   # 45 WD assessment, IA/core before
CLA_REGS_2010_FROM = D(2011, 4, 1)        # first CLA review 20 WD, 4 weeks before
EHC_FROM = D(2014, 9, 1)                  # EHC plans did not exist before
EARLIEST = D(2009, 1, 5)                  # oldest episode in the demo

# ---------------------------------------------------------------------------
# Calendar: England and Wales bank holidays, working days, months.
# Approximate is fine for demo data; the rules are computed by the daemon.

def easter(year):
    """Gregorian Easter Sunday (anonymous algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return D(year, month, day + 1)


def first_monday(year, month):
    d = D(year, month, 1)
    return d + dt.timedelta(days=(7 - d.weekday()) % 7)


def last_monday(year, month):
    d = D(year + (month == 12), month % 12 + 1, 1) - DAY
    return d - dt.timedelta(days=d.weekday())


def bank_holidays(year):
    hol = set()
    ny = D(year, 1, 1)
    hol.add(ny + dt.timedelta(days={5: 2, 6: 1}.get(ny.weekday(), 0)))
    es = easter(year)
    hol.add(es - 2 * DAY)
    hol.add(es + DAY)
    early_may = first_monday(year, 5)
    spring = last_monday(year, 5)
    if year == 2020:
        early_may = D(2020, 5, 8)                     # VE Day
    if year == 2012:
        spring = D(2012, 6, 4)
        hol.add(D(2012, 6, 5))                        # Diamond Jubilee
    if year == 2022:
        spring = D(2022, 6, 2)
        hol.update((D(2022, 6, 3), D(2022, 9, 19)))  # Jubilee, State Funeral
    hol.update((early_may, spring, last_monday(year, 8)))
    if year == 2011:
        hol.add(D(2011, 4, 29))                       # Royal Wedding
    if year == 2023:
        hol.add(D(2023, 5, 8))                        # Coronation
    xmas, boxing = D(year, 12, 25), D(year, 12, 26)
    wd = xmas.weekday()
    if wd == 5:      # Saturday
        hol.update((D(year, 12, 27), D(year, 12, 28)))
    elif wd == 6:    # Sunday
        hol.update((D(year, 12, 26), D(year, 12, 27)))
    elif wd == 4:    # Friday: Boxing Day on Saturday
        hol.update((xmas, D(year, 12, 28)))
    else:
        hol.update((xmas, boxing))
    return hol


_HOLIDAYS = {}


def is_wd(d):
    if d.weekday() >= 5:
        return False
    h = _HOLIDAYS.get(d.year)
    if h is None:
        h = _HOLIDAYS[d.year] = bank_holidays(d.year)
    return d not in h


def add_wd(d, n):
    """The n-th working day after d (start day is day 0), n >= 0."""
    while n > 0:
        d += DAY
        if is_wd(d):
            n -= 1
    return d


def next_wd(d):
    while not is_wd(d):
        d += DAY
    return d


def prev_wd(d):
    while not is_wd(d):
        d -= DAY
    return d


def add_months(d, n):
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    m += 1
    last = (D(y + (m == 12), m % 12 + 1, 1) - DAY).day
    return D(y, m, min(d.day, last))


def add_years(d, n):
    return add_months(d, 12 * n)


def day_of(x):
    return x.date() if isinstance(x, dt.datetime) else x


def as_dt(x):
    return x if isinstance(x, dt.datetime) else dt.datetime(x.year, x.month, x.day)


# ---------------------------------------------------------------------------
# Fictional reference data.

TEAMS = [
    # team_ref, name, manager e-mail local part, service manager local part
    ("DA", "Duty and Assessment", "duty.assessment.manager", "safeguarding.service.manager"),
    ("CPN", "Child Protection North", "cp.north.manager", "safeguarding.service.manager"),
    ("CPS", "Child Protection South", "cp.south.manager", "safeguarding.service.manager"),
    ("CIC", "Children in Care", "children.in.care.manager", "corporate.parenting.service.manager"),
    ("CLM", "Care Leavers and Missing", "care.leavers.missing.manager", "corporate.parenting.service.manager"),
    ("CL", "Court and Legal", "court.legal.manager", "corporate.parenting.service.manager"),
    ("SEND", "SEND Assessment and Review", "send.assessment.manager", "education.service.manager"),
    ("SI", "School Improvement", "school.improvement.manager", "education.service.manager"),
]
WORKERS_PER_TEAM = {"DA": 12, "CPN": 8, "CPS": 8, "CIC": 10, "CLM": 6,
                    "CL": 4, "SEND": 5, "SI": 4}
UNALLOCATED = {"DA": 0.12, "CPN": 0.03, "CPS": 0.03, "CIC": 0.02, "CLM": 0.05,
               "CL": 0.0, "SEND": 0.05, "SI": 0.0}

FIRST_NAMES = [
    "Alys", "Bram", "Carys", "Dov", "Elin", "Farid", "Gwen", "Hamza", "Ines",
    "Jory", "Kezia", "Lorcan", "Maren", "Nia", "Orla", "Pim", "Quilla",
    "Rhodri", "Sabeen", "Tomos", "Ulla", "Vashti", "Wynn", "Yara", "Zeb",
    "Ansel", "Bryony", "Cosmo", "Delphine", "Ewan",
]
SURNAMES = [
    "Ashcombe", "Brackwell", "Caddington", "Dunmere", "Ellerby", "Fairholme",
    "Greystock", "Hallowfield", "Inchbrook", "Jessamy", "Kettleby",
    "Lockridge", "Marchbank", "Northolme", "Oakenshaw", "Penderry",
    "Quenby", "Rushmere", "Stonecliffe", "Thornberry", "Undercroft",
    "Vellacott", "Westerleigh", "Yarrowby",
]

# Share of each case type, and the spread of their start dates over eras:
# recent = the 18 months before --as-of, mid = 2013-04-15 to then,
# old = 2011-04-01 to 2013-04-14, vold = before 2011-04-01.
TYPE_SHARES = [("referral", 52), ("s47", 16), ("cla", 10), ("missing", 7),
               ("court", 3), ("ehc", 7), ("observation", 5)]
ERA_SHARES = {
    "referral":    [("recent", 78), ("mid", 12), ("old", 6), ("vold", 4)],
    "s47":         [("recent", 70), ("mid", 22), ("old", 5), ("vold", 3)],
    "cla":         [("recent", 45), ("mid", 35), ("old", 10), ("vold", 10)],
    "missing":     [("recent", 75), ("mid", 20), ("old", 5)],
    "court":       [("recent", 60), ("mid", 35), ("old", 5)],
    "ehc":         [("recent", 80), ("mid", 20)],
    "observation": [("recent", 80), ("mid", 15), ("old", 5)],
}

# (p on time, p late) per rule; the rest is never met. "Never met" is only
# kept for obligations due in the last 60 days (a current backlog); older
# ones become late instead, as a real record would have been completed.
PROFILE = {
    "referral-decision": (0.94, 0.05),
    "initial-assessment": (0.62, 0.37),    # NI 59: 47-85%
    "core-assessment": (0.74, 0.25),       # NI 60: 64-84%
    "assessment": (0.90, 0.08),            # 98% in Harrow; more late for the demo
    "icpc": (0.64, 0.33),                  # Harrow 2018: 63%
    "cp-review-conference": (0.93, 0.06),
    "care-plan": (0.88, 0.10),
    "health-part-a": (0.80, 0.17),
    "initial-health-assessment": (0.76, 0.21),
    "review-health-assessment": (0.90, 0.09),
    "cla-review": (0.96, 0.035),           # Harrow 98.7%
    "cla-visit": (0.91, 0.08),
    "pep": (0.86, 0.12),
    "return-home-interview": (0.70, 0.24),
    "care-proceedings": (0.45, 0.55),
    "ehc-plan": (0.55, 0.40),
    "observation-oral-feedback": (0.90, 0.08),
    "observation-written-feedback": (0.80, 0.17),
}

BACKLOG = 0.08   # at least this share of obligations due in the last 60 days is not met yet
NOT_YET = 0.60   # share of on-time work due in the next 14 days that is still to do


def apportion(n, shares):
    """Split n by integer shares, largest remainder first (deterministic)."""
    total = sum(s for _, s in shares)
    raw = [(name, n * s / total) for name, s in shares]
    out = {name: int(x) for name, x in raw}
    rest = n - sum(out.values())
    for name, x in sorted(raw, key=lambda t: (-(t[1] - int(t[1])), t[0]))[:rest]:
        out[name] += 1
    return out


# ---------------------------------------------------------------------------

class Case:
    __slots__ = ("kind", "start", "child_ref", "dob", "team", "worker",
                 "events", "ref", "seq")

    def __init__(self, kind, start, child_ref, dob, team, worker, seq):
        self.kind, self.start = kind, start
        self.child_ref, self.dob = child_ref, dob
        self.team, self.worker = team, worker
        self.events = []      # (sort key, occurred text, kind)
        self.ref = None
        self.seq = seq


class Generator:
    def __init__(self, seed, as_of):
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.cases = []
        self.children = {"referral": [], "s47": [], "cla": []}
        self.nchild = 0
        self.nstaff = 0
        self.staff = []
        self.tally = collections.defaultdict(collections.Counter)
        self.teams = []
        self.workers = []
        self.team_workers = collections.defaultdict(list)
        self.bad = []         # (case_ref or None, description)
        self.extra_events = []  # (case_ref, kind, occurred) for bad rows
        self.make_directory()

    # -- directory ---------------------------------------------------------
    def make_directory(self):
        rng = self.rng
        for ref, name, mgr, sm in TEAMS:
            self.teams.append((ref, name, mgr + "@council.example",
                               sm + "@council.example"))
        used = set()
        n = 0
        for ref, *_ in TEAMS:
            for _ in range(WORKERS_PER_TEAM[ref]):
                n += 1
                while True:
                    first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
                    if (first, last) not in used:
                        used.add((first, last))
                        break
                wref = "W%03d" % n
                email = "%s.%s@council.example" % (first.lower(), last.lower())
                self.workers.append([wref, "%s %s" % (first, last), email, ref])
                self.team_workers[ref].append(wref)
        # Two agency workers without an address (the contract allows it).
        for w in rng.sample(self.workers, 2):
            w[2] = None

    def pick_worker(self, team):
        if self.rng.random() < UNALLOCATED[team]:
            return None
        return self.rng.choice(self.team_workers[team])

    # -- dates ---------------------------------------------------------------
    def era_range(self, era, lo_min=None):
        a = self.as_of
        recent_lo = a - dt.timedelta(days=548)
        ranges = {
            "recent": (recent_lo, a),
            "mid": (SINGLE_ASSESSMENT_FROM, recent_lo - DAY),
            "old": (CLA_REGS_2010_FROM, SINGLE_ASSESSMENT_FROM - DAY),
            "vold": (EARLIEST, CLA_REGS_2010_FROM - DAY),
        }
        lo, hi = ranges[era]
        if lo_min and lo < lo_min:
            lo = lo_min
        hi = min(hi, a)
        if lo > hi:               # --as-of too early for this era
            lo, hi = ranges["recent"]
            lo = max(lo, lo_min or lo)
        return lo, hi

    def pick_date(self, era, weekday=True, lo_min=None):
        lo, hi = self.era_range(era, lo_min)
        d = lo + dt.timedelta(days=self.rng.randint(0, (hi - lo).days))
        if weekday:
            d = prev_wd(d) if prev_wd(d) >= lo else next_wd(d)
        return d

    def dob_for_age(self, at, lo_years, hi_years):
        """A date of birth making the child lo..hi years old (hi exclusive) at `at`."""
        days = self.rng.randint(int(lo_years * 365.25), int(hi_years * 365.25) - 1)
        return at - dt.timedelta(days=days)

    # -- cases and events ------------------------------------------------------
    def new_child(self, kind, dob):
        self.nchild += 1
        ref = "C%06d" % self.nchild
        if kind in self.children:
            self.children[kind].append((ref, dob))
        return ref

    def reuse_child(self, pool, at, lo_years, hi_years):
        """An earlier child of the right age at `at`, or None."""
        cands = [c for c in self.children[pool][-60:]
                 if add_years(c[1], lo_years) <= at < add_years(c[1], hi_years)]
        return self.rng.choice(cands) if cands else None

    def new_case(self, kind, start, child_ref, dob, team):
        c = Case(kind, start, child_ref, dob, team, self.pick_worker(team),
                 len(self.cases))
        self.cases.append(c)
        return c

    def emit(self, case, when, kind, fmt="d"):
        """Record an event unless it lies after --as-of. Returns True if kept."""
        if when is None or day_of(when) > self.as_of:
            return False
        if isinstance(when, dt.datetime):
            if fmt == "s":
                text = when.strftime("%Y-%m-%dT%H:%M:%S")
            elif fmt == "m":
                text = when.strftime("%Y-%m-%dT%H:%M")
            else:
                text = when.strftime("%Y-%m-%d")
        else:
            text = when.isoformat()
        case.events.append((text, text, kind))
        return True

    # -- obligations -------------------------------------------------------------
    def on_time(self, anchor, due):
        """A met date in [anchor, due], on a working day where possible."""
        rng = self.rng
        span = (due - anchor).days
        if span <= 8:
            days = [anchor + dt.timedelta(days=i) for i in range(span + 1)]
            wds = [d for d in days if is_wd(d)] or days
            # Short deadlines are usually met early: weight towards the start.
            return wds[min(int(rng.expovariate(1.2)), len(wds) - 1)]
        d = anchor + dt.timedelta(days=round(span * rng.triangular(0.35, 1.0, 0.9)))
        d = prev_wd(d)
        return d if d >= anchor else anchor

    def late(self, due, max_days):
        return next_wd(due + dt.timedelta(days=self.rng.randint(1, max(1, max_days))))

    def settle(self, rule, anchor, due, late_max):
        """When the met event would happen (None: never).

        Near --as-of, work piles up: an obligation due in the next two weeks
        is often still to do (it will be done on time, after --as-of: so it
        shows as open or due soon), and one due in the last 60 days is more
        often simply not done yet (overdue)."""
        rng, a = self.rng, self.as_of
        p_on, p_late = PROFILE[rule]
        dday = day_of(due)
        if a - dt.timedelta(days=60) <= dday <= a:
            p_on = min(p_on, 1.0 - p_late - BACKLOG)
        u = rng.random()
        if u < p_on:
            met = self.on_time(anchor, due)
            if a < dday <= a + dt.timedelta(days=14) and day_of(met) <= a \
                    and rng.random() < NOT_YET:
                met = next_wd(a + dt.timedelta(days=rng.randint(1, (dday - a).days)))
                if met > dday:
                    met = dday
            return met
        if u < p_on + p_late or dday < a - dt.timedelta(days=60):
            return self.late(due, late_max)
        return None

    def oblige(self, case, rule, anchor, due, met, kind, end=None, fmt="d"):
        """Emit the met event if it happens by --as-of and before the
        cancelling `end`; tally the outcome. Returns the met date or None."""
        a = self.as_of
        t = self.tally[rule]
        if end is not None and day_of(end) > a:
            end = None
        if met is not None and day_of(met) <= a and (end is None or day_of(met) <= day_of(end)):
            self.emit(case, met, kind, fmt)
            t["on time" if as_dt(met) <= as_dt(due) else "late"] += 1
            return met
        if end is not None:
            t["cancelled"] += 1
        elif day_of(due) < a:
            t["overdue"] += 1
        elif day_of(due) <= add_wd(a, 2):
            t["due soon"] += 1
        elif day_of(due) <= a + dt.timedelta(days=7):
            t["due in 7 days"] += 1
        else:
            t["open"] += 1
        return None

    def chain(self, case, rule, kind, anchor, step, end, late_max):
        """A recurring obligation: step(k, anchor) gives the k-th due date."""
        k = 0
        while True:
            due = step(k, anchor)
            met = self.settle(rule, anchor, due, late_max)
            got = self.oblige(case, rule, anchor, due, met, kind, end)
            if got is None:
                return
            anchor, k = got, k + 1

    # -- case types ------------------------------------------------------------
    def assessment_path(self, case, R, nfa_p, close_p):
        """referral -> decision -> assessment(s) -> maybe case_closed."""
        rng, a = self.rng, self.as_of
        old = R < SINGLE_ASSESSMENT_FROM
        dec_kind = "referral_nfa" if rng.random() < nfa_p else "referral_decision"
        due = add_wd(R, 1)
        Dd = self.oblige(case, "referral-decision", R, due,
                         self.settle("referral-decision", R, due, 4), dec_kind)
        arule = "initial-assessment" if old else "assessment"
        adue = add_wd(R, 10 if old else 45)
        if Dd is None:
            self.oblige(case, arule, R, adue, None, None)
            return None
        if dec_kind == "referral_nfa":
            self.oblige(case, arule, R, adue, None, None, end=Dd)
            self.emit(case, add_wd(Dd, rng.randint(0, 3)), "case_closed")
            return None
        if old:
            A = self.oblige(case, arule, R, adue,
                            self.settle(arule, R, adue, 25),
                            "initial_assessment_completed")
            if A is not None and rng.random() < 0.45:
                CS = add_wd(A, rng.randint(0, 3))
                if CS < SINGLE_ASSESSMENT_FROM and self.emit(case, CS, "core_assessment_started"):
                    cdue = add_wd(CS, 35)
                    A = self.oblige(case, "core-assessment", CS, cdue,
                                    self.settle("core-assessment", CS, cdue, 40),
                                    "core_assessment_completed")
        else:
            if rng.random() < 0.5:
                self.emit(case, Dd, "assessment_started")
            A = self.oblige(case, arule, R, adue,
                            self.settle(arule, R, adue, 30), "assessment_completed")
        if A is not None and rng.random() < close_p:
            self.emit(case, next_wd(A + dt.timedelta(days=rng.randint(0, 30))),
                      "case_closed")
        return A

    def gen_referral(self, era):
        rng = self.rng
        R = self.pick_date(era, weekday=rng.random() < 0.95)
        dob = self.dob_for_age(R, 0, 18)
        case = self.new_case("referral", R, self.new_child("referral", dob), dob, "DA")
        self.emit(case, R, "referral")
        close_p = 0.55 if era == "recent" else 0.97
        self.assessment_path(case, R, nfa_p=0.28, close_p=close_p)

    def gen_s47(self, era):
        rng, a = self.rng, self.as_of
        # A few plans started 26-34 months ago and still running, so the
        # cp-plan-duration thresholds (1 and 2 years) always have cases.
        long_plan = era == "mid" and self.long_plans > 0
        if long_plan:
            self.long_plans -= 1
            start = prev_wd(a - dt.timedelta(days=rng.randint(26 * 30, 34 * 30)))
        else:
            start = self.pick_date(era)
        reuse = self.reuse_child("referral", start, 0, 17) if rng.random() < 0.3 else None
        if reuse:
            child, dob = reuse
            self.children["s47"].append(reuse)
        else:
            dob = self.dob_for_age(start, 0, 17)
            child = self.new_child("s47", dob)
        case = self.new_case("s47", start, child, dob, rng.choice(("CPN", "CPS")))
        S = start
        assessed, pending = None, False

        def close(after, max_days):
            """case_closed after `after`, once any assessment is complete."""
            if pending:
                return
            d = max(after, assessed) if assessed else after
            self.emit(case, next_wd(d + dt.timedelta(days=rng.randint(0, max_days))),
                      "case_closed")

        if rng.random() < 0.55:
            self.emit(case, start, "referral")
            assessed = self.assessment_path(case, start, nfa_p=0.0, close_p=0.0)
            pending = assessed is None
            S = add_wd(start, rng.choice((0, 0, 1, 2)))
        if S > a:
            return
        # The ICPC clock runs from the strategy discussion, or from the s47
        # start where no discussion was recorded.
        if rng.random() < 0.9:
            self.emit(case, S, "strategy_discussion")
            self.emit(case, S if rng.random() < 0.85 else add_wd(S, rng.randint(1, 2)),
                      "s47_started")
        else:
            self.emit(case, S, "s47_started")
        due = add_wd(S, 15)
        u = 1.0 if long_plan else rng.random()
        if u < 0.55:                            # no conference needed
            kind = "s47_nfa" if u < 0.45 else "icpc_not_required"
            X = add_wd(S, rng.randint(3, 14) if rng.random() < 0.9 else rng.randint(16, 25))
            self.oblige(case, "icpc", S, due, None, None, end=X)
            if self.emit(case, X, kind) and rng.random() < 0.8:
                close(X, 20)
            return
        I = self.oblige(case, "icpc", S, due, self.settle("icpc", S, due, 20), "icpc")
        if I is None:
            return
        if not long_plan and rng.random() < 0.15:   # conference: no plan needed
            close(I, 20)
            return
        self.emit(case, I, "cp_plan_started")
        u = rng.random()
        months = (rng.uniform(3, 9) if u < 0.4 else rng.uniform(9, 12) if u < 0.7
                  else rng.uniform(12, 24) if u < 0.9 else rng.uniform(24, 40))
        if long_plan:
            months = 48
        target = I + dt.timedelta(days=round(months * 30.44))
        transfer = not long_plan and rng.random() < 0.15   # plan ends between reviews
        end = next_wd(target) if transfer else None
        anchor, k, ended = I, 0, None
        while True:
            due = add_months(anchor, 3 if k == 0 else 6)
            met = self.settle("cp-review-conference", anchor, due, 30)
            if (not transfer and met is not None and met >= target
                    and met <= a):
                # The last review conference ends the plan.
                self.oblige(case, "cp-review-conference", anchor, due, met,
                            "cp_review_conference")
                ended = met
                break
            got = self.oblige(case, "cp-review-conference", anchor, due, met,
                              "cp_review_conference", end=end)
            if got is None:
                if transfer and end <= a:
                    ended = end
                break
            anchor, k = got, k + 1
        t = self.tally["cp-plan-duration"]
        length = ((ended or a) - I).days
        t[("ended" if ended else "ongoing") +
          (" > 2 years" if length > 730 else " > 1 year" if length > 365 else " <= 1 year")] += 1
        if ended is not None:
            self.emit(case, ended, "cp_plan_ended")
            if rng.random() < 0.7:
                close(ended, 30)

    def gen_cla(self, era):
        rng, a = self.rng, self.as_of
        C = self.pick_date(era)
        reuse = self.reuse_child("s47", C, 0, 17) if rng.random() < 0.25 else None
        if reuse:
            child, dob = reuse
            self.children["cla"].append(reuse)
        else:
            u = rng.random()
            dob = (self.dob_for_age(C, 0, 5) if u < 0.35 else
                   self.dob_for_age(C, 5, 16) if u < 0.9 else self.dob_for_age(C, 16, 18))
            child = self.new_child("cla", dob)
        u = rng.random()
        months = (rng.uniform(1, 6) if u < 0.25 else rng.uniform(6, 24) if u < 0.5
                  else rng.uniform(24, 200))
        end = C + dt.timedelta(days=round(months * 30.44))
        eighteen = add_years(dob, 18)
        if eighteen <= end:
            end = eighteen
        team = "CIC"
        if end > a and add_years(dob, 16) <= a and rng.random() < 0.4:
            team = "CLM"
        case = self.new_case("cla", C, child, dob, team)
        self.emit(case, C, "cla_started")
        P0 = C if rng.random() < 0.9 else add_wd(C, rng.randint(1, 2))
        self.emit(case, P0, "placement_started")
        last = min(end, a)
        changes = []
        span = (last - P0).days
        if span > 30:
            for _ in range(min(int(rng.expovariate(1.0) * span / 365) + (rng.random() < 0.3), 6)):
                changes.append(P0 + dt.timedelta(days=rng.randint(15, span)))
        changes = sorted(set(changes))
        for pc in changes:
            self.emit(case, pc, "placement_started")
        endc = end if end <= a else None

        def once(rule, kind, due, late_max):
            return self.oblige(case, rule, C, due, self.settle(rule, C, due, late_max),
                               kind, end=endc)

        once("care-plan", "care_plan", add_wd(C, 10), 15)
        once("health-part-a", "health_part_a_sent", add_wd(C, 5), 15)
        iha = once("initial-health-assessment", "initial_health_assessment",
                   C + dt.timedelta(days=28), 40)
        if iha is not None:
            self.chain(case, "review-health-assessment", "review_health_assessment", iha,
                       lambda k, an: add_months(an, 6 if add_years(dob, 5) > an else 12),
                       endc, 45)
        first_review = (lambda an: an + dt.timedelta(weeks=4)) if C < CLA_REGS_2010_FROM \
            else (lambda an: add_wd(an, 20))
        self.chain(case, "cla-review", "cla_review", C,
                   lambda k, an: first_review(an) if k == 0 else add_months(an, 3 if k == 1 else 6),
                   endc, 30)
        self.chain(case, "pep", "pep", C,
                   lambda k, an: add_wd(an, 20) if k == 0 else add_months(an, 4),
                   endc, 40)
        # Statutory visits: 1 week, then 6 weeks in the first year of the
        # placement, then 3 months; a new placement brings a visit forward.
        anchor, k, year1 = P0, 0, add_years(P0, 1)
        while True:
            if k == 0:
                due = P0 + dt.timedelta(weeks=1)
            elif anchor <= year1:
                due = anchor + dt.timedelta(weeks=6)
            else:
                due = add_months(anchor, 3)
            met = self.settle("cla-visit", anchor, due, 21)
            for pc in changes:
                if anchor < pc and (met is None or pc < met):
                    v = next_wd(pc + dt.timedelta(days=rng.randint(0, 4)))
                    met = v if met is None else min(met, v)
                    break
            got = self.oblige(case, "cla-visit", anchor, due, met, "cla_visit", end=endc)
            if got is None:
                break
            anchor, k = got, k + 1
        self.emit(case, end, "cla_ended")

    def gen_missing(self, era):
        rng, a = self.rng, self.as_of
        M0 = self.pick_date(era, weekday=False)
        reuse = self.reuse_child("cla", M0, 11, 18) if rng.random() < 0.4 else None
        if reuse:
            child, dob = reuse
        else:
            dob = self.dob_for_age(M0, 11, 18)
            child = self.new_child("missing", dob)
        case = self.new_case("missing", M0, child, dob, "CLM")
        n = 1 + min(int(rng.expovariate(0.45)), 7)
        t = dt.datetime.combine(M0, dt.time(rng.randint(0, 23), rng.choice((0, 5, 15, 20, 30, 40, 45, 55))))
        last = M0
        for _ in range(n):
            if t.date() > a or (add_years(dob, 18) <= t.date()):
                break
            u = rng.random()
            ret_fmt = "d" if u < 0.12 else "s" if u < 0.17 else "m"
            if ret_fmt == "d":
                t = dt.datetime.combine(t.date(), dt.time())
            self.emit(case, t, "missing_returned", ret_fmt)
            due = t + dt.timedelta(hours=72)
            rhi_fmt = "d" if rng.random() < 0.35 else "m"
            p_on, p_late = PROFILE["return-home-interview"]
            u = rng.random()
            if u < p_on:
                # Working-hours slot within 72 hours (date-only: within 2 days).
                slots = []
                for off in range(0, 4):
                    d = t.date() + dt.timedelta(days=off)
                    for h in (9, 10, 11, 13, 14, 15, 16):
                        s = dt.datetime.combine(d, dt.time(h, rng.choice((0, 15, 30, 45))))
                        if t < s <= due and (rhi_fmt == "m" or off <= 2):
                            slots.append((not is_wd(d), s))
                if slots:
                    slots.sort()
                    wd_slots = [s for w, s in slots if not w] or [s for _, s in slots]
                    rhi = wd_slots[min(int(rng.expovariate(0.5)), len(wd_slots) - 1)]
                else:
                    rhi = t + dt.timedelta(hours=2)
            elif u < p_on + p_late or due.date() < a - dt.timedelta(days=60):
                d = next_wd(due.date() + dt.timedelta(days=rng.randint(1, 8)))
                rhi = dt.datetime.combine(d, dt.time(rng.randint(9, 16), rng.choice((0, 30))))
            else:
                rhi = None
            if rhi is not None and rhi_fmt == "d":
                rhi = dt.datetime.combine(rhi.date(), dt.time())
            got = self.oblige(case, "return-home-interview", t, due, rhi,
                              "return_home_interview", fmt=rhi_fmt)
            last = day_of(got or t)
            if got is None:
                break       # one open interview at a time: the clock ignores new starts
            nxt = max(t, as_dt(got) if got else t) + dt.timedelta(days=rng.randint(5, 60))
            t = dt.datetime.combine(nxt.date(), dt.time(rng.randint(0, 23), rng.choice((0, 10, 20, 30, 40, 50))))
        if last < a - dt.timedelta(days=90) and rng.random() < 0.8:
            self.emit(case, next_wd(last + dt.timedelta(days=rng.randint(30, 90))), "case_closed")

    def gen_court(self, era):
        rng, a = self.rng, self.as_of
        P = self.pick_date(era)
        reuse = self.reuse_child("cla", P, 0, 17) if rng.random() < 0.6 else None
        if reuse:
            child, dob = reuse
        else:
            dob = self.dob_for_age(P, 0, 16)
            child = self.new_child("court", dob)
        case = self.new_case("court", P, child, dob, "CL")
        self.emit(case, P, "proceedings_issued")
        due = P + dt.timedelta(weeks=26) - DAY      # day of issue is day 1
        if rng.random() < 0.05:                     # withdrawn
            X = next_wd(P + dt.timedelta(weeks=rng.randint(4, 20)))
            self.oblige(case, "care-proceedings", P, due, None, None, end=X)
            self.emit(case, X, "case_closed")
            return
        if rng.random() < PROFILE["care-proceedings"][0]:
            met = prev_wd(P + dt.timedelta(days=rng.randint(12 * 7, 26 * 7 - 1)))
        else:
            met = self.late(due, 140)
        got = self.oblige(case, "care-proceedings", P, due, met, "proceedings_concluded")
        if got is not None and rng.random() < 0.5:
            self.emit(case, next_wd(got + dt.timedelta(days=rng.randint(0, 30))), "case_closed")

    def gen_ehc(self, era):
        rng, a = self.rng, self.as_of
        Q = self.pick_date(era, lo_min=EHC_FROM)
        dob = self.dob_for_age(Q, 2, 20)
        case = self.new_case("ehc", Q, self.new_child("ehc", dob), dob, "SEND")
        self.emit(case, Q, "ehc_request")
        due = Q + dt.timedelta(weeks=20)
        if rng.random() < 0.10:                     # refused to assess
            X = next_wd(Q + dt.timedelta(weeks=rng.randint(6, 16)))
            self.oblige(case, "ehc-plan", Q, due, None, None, end=X)
            self.emit(case, X, "case_closed")
            return
        got = self.oblige(case, "ehc-plan", Q, due, self.settle("ehc-plan", Q, due, 140),
                          "ehc_plan_issued")
        if got is not None and era != "recent" and rng.random() < 0.3:
            self.emit(case, next_wd(got + dt.timedelta(days=rng.randint(30, 365))), "case_closed")

    def gen_observation(self, era):
        rng, a = self.rng, self.as_of
        d = self.pick_date(era)
        year = d.year if d.month >= 9 else d.year - 1
        if D(year, 10, 15) > a:
            year -= 1           # a cycle with no observation yet: take the last one
        start = D(year, 9, 1)
        if self.staff and rng.random() < 0.3:
            staff = rng.choice(self.staff)
        else:
            self.nstaff += 1
            staff = "STAFF-%04d" % self.nstaff
            self.staff.append(staff)
        case = self.new_case("observation", start, staff, None, "SI")
        # Observations three weeks or more apart, October to June; in the
        # current cycle only up to --as-of, so every cycle has at least one.
        window = min((D(year + 1, 6, 30) - D(year, 10, 1)).days,
                     (a - D(year, 10, 1)).days - 7)
        choices = range(0, window + 1, 21)
        slots = sorted(rng.sample(choices, min(rng.randint(1, 3), len(choices))))
        for off in slots:
            O = next_wd(D(year, 10, 1) + dt.timedelta(days=off + rng.randint(0, 6)))
            if O > a:
                break
            timed = rng.random() < 0.4
            when = dt.datetime.combine(O, dt.time(rng.randint(9, 14), rng.choice((0, 15, 30, 45)))) \
                if timed else O
            self.emit(case, when, "observation", "m" if timed else "d")
            due = add_wd(O, 1)
            met = self.settle("observation-oral-feedback", O, due, 5)
            same_day = timed and met == O
            if same_day:
                met = when + dt.timedelta(hours=rng.randint(1, 3))
            self.oblige(case, "observation-oral-feedback", O, due, met, "oral_feedback",
                        fmt="m" if same_day else "d")
            due = add_wd(O, 5)
            self.oblige(case, "observation-written-feedback", O, due,
                        self.settle("observation-written-feedback", O, due, 10),
                        "written_feedback")
        self.emit(case, prev_wd(D(year + 1, 7, 20)), "case_closed")

    # -- bad rows --------------------------------------------------------------
    def pick_case(self, kind, pred=lambda c: True):
        cands = [c for c in self.cases if c.kind == kind and c.events and pred(c)]
        if not cands:
            cands = [c for c in self.cases if c.events] or self.cases
        return self.rng.choice(cands)

    def add_bad(self, case_ref, kind, occurred, what):
        self.extra_events.append((case_ref, kind, occurred))
        self.bad.append((case_ref, what))

    def make_bad_rows(self):
        rng = self.rng
        taken = set()

        def pick(kind, pred=lambda c: True):
            c = self.pick_case(kind, lambda c: c.ref not in taken and pred(c))
            taken.add(c.ref)
            return c

        def first(c, kind):
            for _, text, k in c.events:
                if k == kind:
                    return text
            return c.events[0][1]

        def in_care(on):
            """A CLA case that was open on `on` (YYYY-MM-DD)."""
            return lambda c: (c.start.isoformat() < on and
                              all(k != "cla_ended" or t > on for _, t, k in c.events))

        c = pick("cla", in_care("2023-02-28"))
        self.add_bad(c.ref, "cla_visit", "2023-02-30", "impossible date 2023-02-30")
        c = pick("cla", in_care("2024-09-30"))
        self.add_bad(c.ref, "pep", "31/09/2024", "date in DD/MM/YYYY form (and no 31 September)")
        c = pick("s47", lambda c: any(k == "strategy_discussion" for *_, k in c.events))
        self.add_bad(c.ref, "strategy_meeting", first(c, "strategy_discussion"),
                     "unknown event kind strategy_meeting")
        c = pick("referral")
        self.add_bad(c.ref, None, first(c, "referral"), "NULL kind")
        c = pick("cla")
        self.add_bad(c.ref, "cla_visit", None, "NULL occurred")
        c = pick("referral")
        self.add_bad(c.ref, "return_home_interview",
                     add_wd(D.fromisoformat(first(c, "referral")[:10]), 3).isoformat(),
                     "met event (return_home_interview) with no start (missing_returned)")
        self.add_bad("REF-%d-999999" % self.as_of.year, "referral",
                     prev_wd(self.as_of - dt.timedelta(days=30)).isoformat(),
                     "orphan event: case_ref not in deadlined_cases")
        c = pick("referral", lambda c: c.dob is not None)
        c.dob = D.fromisoformat(first(c, "referral")[:10]) + dt.timedelta(days=rng.randint(20, 90))
        self.bad.append((c.ref, "date_of_birth after the referral: events before birth"))
        c = pick("referral")
        c.team = None
        self.bad.append((c.ref, "team_ref NULL"))
        c = pick("referral")
        c.team = "DA-EAST"
        self.bad.append((c.ref, "team_ref DA-EAST is not in deadlined_teams"))
        c = pick("s47")
        c.worker = "W999"
        self.bad.append((c.ref, "worker_ref W999 is not in deadlined_workers"))

    # -- all -----------------------------------------------------------------------
    def generate(self, ncases):
        rng = self.rng
        plan = []
        types = apportion(ncases, TYPE_SHARES)
        self.long_plans = max(2, types["s47"] // 100)
        for kind, n in types.items():
            for era, m in apportion(n, ERA_SHARES[kind]).items():
                plan += [(kind, era)] * m
        # Oldest first, so reused children already exist; shuffle within era.
        order = {"vold": 0, "old": 1, "mid": 2, "recent": 3}
        rng.shuffle(plan)
        plan.sort(key=lambda p: order[p[1]])
        for kind, era in plan:
            getattr(self, "gen_" + kind)(era)
        # Case refs in order of the episode's start.
        self.cases.sort(key=lambda c: (c.start, c.seq))
        for i, c in enumerate(self.cases, 1):
            c.ref = "REF-%d-%06d" % (c.start.year, i)
            c.events.sort(key=lambda e: e[0])
        self.make_bad_rows()

    def write(self, path, schema_sql):
        tmp = path + ".tmp"
        for p in (tmp, tmp + "-journal"):
            if os.path.exists(p):
                os.unlink(p)
        db = sqlite3.connect(tmp)
        ok = False
        try:
            db.executescript(schema_sql)
            db.executemany("INSERT INTO deadlined_teams VALUES (?,?,?,?)", self.teams)
            db.executemany("INSERT INTO deadlined_workers VALUES (?,?,?,?)", self.workers)
            db.executemany(
                "INSERT INTO deadlined_cases VALUES (?,?,?,?,?)",
                [(c.ref, c.child_ref, c.dob.isoformat() if c.dob else None, c.team, c.worker)
                 for c in self.cases])
            rows, n = [], 0
            for c in self.cases:
                for _, text, kind in c.events:
                    n += 1
                    ref = None if self.rng.random() < 0.04 else "E%07d" % n
                    rows.append((c.ref, kind, text, ref))
            for case_ref, kind, occurred in self.extra_events:
                n += 1
                rows.append((case_ref, kind, occurred, "E%07d" % n))
            db.executemany("INSERT INTO deadlined_events (case_ref, kind, occurred, event_ref)"
                           " VALUES (?,?,?,?)", rows)
            # A new file has no history: the daemon evaluates it in full.
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'deadlined_changes'"
                          ).fetchone():
                db.execute("DELETE FROM deadlined_changes")
            db.commit()
            ok = True
        finally:
            db.close()
            if not ok and os.path.exists(tmp):
                os.unlink(tmp)
        os.replace(tmp, path)
        return len(rows)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Write a synthetic deadlined case database.")
    ap.add_argument("--out", required=True, help="SQLite file to (re)create")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--cases", type=int, default=2400)
    ap.add_argument("--as-of", type=D.fromisoformat, default=None,
                    help="YYYY-MM-DD the data is current to (default: today)")
    ap.add_argument("--schema", default=os.path.join(here, "..", "conf", "schema", "native.sql"))
    ap.add_argument("--stats", action="store_true",
                    help="print intended obligation outcomes and bad rows on stderr")
    args = ap.parse_args()
    if args.cases < 50:
        ap.error("--cases must be at least 50")
    as_of = args.as_of or D.today()
    if as_of < D(2015, 1, 1):
        ap.error("--as-of must be 2015-01-01 or later (the demo spans 2009 to --as-of)")
    try:
        with open(args.schema, encoding="utf-8") as f:
            schema_sql = f.read()
    except OSError as e:
        sys.exit("gen-demo: %s: %s" % (args.schema, e.strerror))

    g = Generator(args.seed, as_of)
    g.generate(args.cases)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    try:
        nevents = g.write(args.out, schema_sql)
    except (sqlite3.Error, OSError) as e:
        sys.exit("gen-demo: %s: %s" % (args.out, e))

    if args.stats:
        kinds = collections.Counter(c.kind for c in g.cases)
        print("cases by type: " + ", ".join("%s %d" % kv for kv in sorted(kinds.items())),
              file=sys.stderr)
        for rule in sorted(g.tally):
            t = g.tally[rule]
            print("  %-30s %s" % (rule, ", ".join("%s %d" % kv for kv in sorted(t.items()))),
                  file=sys.stderr)
        for ref, what in g.bad:
            print("  bad row: %-16s %s" % (ref, what), file=sys.stderr)
    print("gen-demo: wrote %s: %d cases, %d events, %d teams, %d workers, %d bad rows"
          " (seed %d, as of %s)" % (args.out, len(g.cases), nevents, len(g.teams),
                                    len(g.workers), len(g.bad), args.seed, as_of))


if __name__ == "__main__":
    main()
