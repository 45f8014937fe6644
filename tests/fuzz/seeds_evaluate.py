#!/usr/bin/env python3
"""Write the hand-made seeds of the evaluate fuzz target, whose input is
binary (see the top of fuzz_evaluate.c for the layout):

    python3 tests/fuzz/seeds_evaluate.py tests/fuzz/corpus/evaluate

Each seed is a small case database spelt out below; keep this in step with
fuzz_evaluate.c's lists (kinds, case_refs) and its byte layout."""
import os
import sys

KINDS = [
    "referral", "referral_decision", "referral_nfa", "assessment_started",
    "assessment_completed", "initial_assessment_completed", "core_assessment_started",
    "core_assessment_completed", "strategy_discussion", "s47_started", "s47_nfa", "icpc",
    "icpc_not_required", "cp_plan_started", "cp_plan_ended", "cp_review_conference",
    "cla_started", "cla_ended", "placement_started", "cla_review", "cla_visit", "care_plan",
    "health_part_a_sent", "initial_health_assessment", "review_health_assessment", "pep",
    "missing_returned", "return_home_interview", "proceedings_issued",
    "proceedings_concluded", "ehc_request", "ehc_plan_issued", "observation",
    "oral_feedback", "written_feedback", "case_closed", "Referral", "family_group_conference",
    "", "cla review",
]
CASES = ["C0", "C1", "C2", "C3", "c1", "C1 ", "1", ""]
TEAMS = ["T1", "T2", "t1", "TX"]
WORKERS = ["W1", "W2", "w1", "WX"]
TEXTS = ["x", "Name", "a@b.example", ""]

NATIVE, UNTYPED, VIEWS, BROKEN = 0, 3, 5, 7


def header(variant, y, m, d, sec=200, one=None):
    """Flags (schema, one case), then now: a seconds byte and days since
    2008-01-01."""
    import datetime
    flags = variant
    if one is not None:
        flags |= 8 | (CASES.index(one) << 4)
    days = (datetime.date(y, m, d) - datetime.date(2008, 1, 1)).days
    return bytes([flags, sec, days >> 8, days & 255])


def null():
    return bytes([0])


def integer(n):
    return bytes([1, n])


def real(half):
    return bytes([2, half])


def pick(lst, v, blob=False):
    return bytes([3 if blob else 5, lst.index(v)])


def raw(b):
    return bytes([4, len(b)]) + b


def date(y, m, d, hh=0, mm=0, form=0):
    """form 0: YYYY-MM-DD, 1: THH:MM, 2: THH:MM:SS (ss = mm), 3: space HH:MM,
    4: D/M/Y, 5: month one lower (0 is impossible)."""
    yb = y - 2008
    assert 0 <= yb < 24
    return bytes([5, yb, form, (m - 1) % 13, (d - 1) % 31, hh, mm])


def case(ref, dob=None, team="T1", worker="W1", child=None):
    return (bytes([0]) + (ref if isinstance(ref, bytes) else pick(CASES, ref)) +
            (child or pick(TEXTS, "x")) + (dob or null()) +
            (pick(TEAMS, team) if team else null()) +
            (pick(WORKERS, worker) if worker else null()))


def event(ref, kind, when, event_ref=None):
    return (bytes([2]) + (ref if isinstance(ref, bytes) else pick(CASES, ref)) +
            (kind if isinstance(kind, bytes) else pick(KINDS, kind)) + when +
            (event_ref or null()))


def team(ref="T1"):
    return bytes([6]) + pick(TEAMS, ref) + pick(TEXTS, "Name") + \
        pick(TEXTS, "a@b.example") + null()


def worker(ref="W1", team_ref="T1"):
    return bytes([7]) + pick(WORKERS, ref) + pick(TEXTS, "Name") + \
        pick(TEXTS, "a@b.example") + pick(TEAMS, team_ref)


SEEDS = {
    "referral-assessment": header(NATIVE, 2024, 6, 1) + team() + worker() +
    case("C1", date(2015, 3, 1)) +
    event("C1", "referral", date(2024, 1, 8)) +
    event("C1", "referral_decision", date(2024, 1, 9)) +
    event("C1", "assessment_completed", date(2024, 3, 29)),
    "cla-reviews": header(NATIVE, 2025, 3, 1) + team() + worker() +
    case("C2", date(2021, 2, 28)) +
    event("C2", "cla_started", date(2023, 12, 22, 17, 0, 1)) +
    event("C2", "care_plan", date(2024, 1, 5)) +
    event("C2", "cla_review", date(2024, 1, 19)) +
    event("C2", "cla_review", date(2024, 4, 30)) +
    event("C2", "placement_started", date(2023, 12, 22)) +
    event("C2", "cla_visit", date(2023, 12, 29)) +
    event("C2", "health_part_a_sent", date(2023, 12, 23)) +
    event("C2", "initial_health_assessment", date(2024, 2, 2)) +
    event("C2", "review_health_assessment", date(2024, 7, 1)) +
    event("C2", "pep", date(2024, 1, 10)),
    "child-protection": header(NATIVE, 2024, 9, 30, 255) + team() + worker() +
    case("C3") +
    event("C3", "strategy_discussion", date(2024, 3, 28)) +
    event("C3", "s47_started", date(2024, 3, 28)) +
    event("C3", "icpc", date(2024, 4, 25)) +
    event("C3", "cp_plan_started", date(2024, 4, 25)) +
    event("C3", "cp_review_conference", date(2024, 7, 25)) +
    event("C3", "case_closed", date(2024, 9, 1)),
    "missing-hours-dst": header(NATIVE, 2023, 11, 1) + team() + worker() +
    case("C1") +
    event("C1", "missing_returned", date(2023, 3, 25, 23, 30, 1)) +
    event("C1", "return_home_interview", date(2023, 3, 28, 23, 30, 1)) +
    event("C1", "missing_returned", date(2023, 10, 27, 1, 30, 3)) +
    event("C1", "return_home_interview", date(2023, 10, 30, 1, 31, 2)),
    "bad-rows": header(NATIVE, 2024, 6, 1) + team() + worker() +
    case("C1", date(2020, 5, 1)) +
    event("C1", null(), date(2024, 1, 1)) +
    event("C1", "referral", date(2023, 2, 30)) +
    event("C1", "referral", null()) +
    event("C1", "family_group_conference", date(2024, 1, 2)) +
    event("C1", "Referral", date(2024, 1, 2)) +
    event("C1", "referral", date(2019, 1, 2)) +
    event("C1", "referral", date(2024, 1, 2, 25, 61, 1)) +
    event("C1", "referral", date(2024, 1, 2, form=4)) +
    event("C1", "referral", raw(b"2024-01-02\x00junk")) +
    event("C1", "assessment_completed", date(2024, 1, 1)) +
    case("C2", raw(b"2020-02-30"), team=None, worker="WX") +
    case("C0", date(2020, 5, 1, form=5), team="TX") +
    event("C3", "referral", date(2024, 1, 1)) +
    event("C3", "referral", date(2024, 1, 1)) +
    case(null()) + event(null(), "referral", date(2024, 1, 1)),
    "duplicates-untyped": header(UNTYPED, 2024, 6, 1) + team() + team() +
    worker() + worker("W1", "T2") +
    case("C1") + case("C1", team="T2") + case(integer(1)) + case(real(2)) +
    case(pick(CASES, "C1", blob=True)) + case(null()) + case(null()) +
    event(integer(1), "referral", date(2024, 1, 8)) +
    event(real(2), "referral", date(2024, 1, 8)) +
    event(real(3), "referral", date(2024, 1, 8)) +
    event(pick(CASES, "C1", blob=True), "referral", date(2024, 1, 8)) +
    event("1", "referral", date(2024, 1, 8)) +
    event("C1", "referral", date(2024, 1, 8)) +
    event(integer(2), "referral", date(2024, 1, 8)),
    "views-nocase": header(VIEWS, 2024, 6, 1) + team() + team("t1") + worker() +
    case("C1") + case("c1") + case("C1 ") +
    event("c1", "referral", date(2024, 1, 8)) +
    event("C1", "referral_decision", date(2024, 1, 9)) +
    event("C1 ", "referral", date(2024, 1, 9)),
    "one-case": header(NATIVE, 2024, 6, 1, one="C1") + team() +
    case("C0") + case("C1") + case("C2") +
    event("C0", "referral", date(2024, 1, 8)) +
    event("C1", "referral", date(2024, 1, 8)) +
    event("C2", "referral", date(2024, 1, 8)),
    "broken-schema": header(BROKEN, 2024, 6, 1) + team() + worker() + case("C1"),
    "many-events": header(UNTYPED, 2030, 1, 1) + team() + case("C1") +
    b"".join(event("C1", KINDS[i % 36], date(2010 + i % 20, 1 + i % 12, 1 + i % 28))
             for i in range(90)),
    "as-of-same-day": header(NATIVE, 2024, 1, 8, 0) + team() + case("C1") +
    event("C1", "referral", date(2024, 1, 8, 10, 30, 1)) +
    event("C1", "referral_decision", date(2024, 1, 8)) +
    event("C1", "referral_nfa", date(2024, 1, 8, 0, 0, 1)),
    # Found by the target: a BLOB case_ref after a TEXT one lost its events
    # (source.c read the event's key twice; fixed).
    "known-blob-case-ref-orphaned": header(UNTYPED, 2024, 6, 1) + team() + case("C0") +
    case(pick(CASES, "C1", blob=True)) +
    event(pick(CASES, "C1", blob=True), "referral", date(2024, 1, 8)),
    "editions-2013": header(NATIVE, 2013, 12, 1) + team() + case("C1") +
    event("C1", "referral", date(2013, 4, 12)) +
    event("C1", "core_assessment_started", date(2013, 4, 14)) +
    event("C1", "referral", date(2013, 4, 15)) +
    event("C1", "cla_started", date(2011, 3, 31)) +
    event("C1", "initial_assessment_completed", date(2013, 4, 26)),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/evaluate"
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
