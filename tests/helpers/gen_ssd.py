#!/usr/bin/python3
"""gen_ssd.py: an SSD-shaped folder of CSV files for the tests.

    gen_ssd.py DIR [--seed N] [--filler N]

Writes one CSV per Standard Safeguarding Dataset table (column names of
reference/ssd-columns.txt), the contact files and deadlined_extra_events.csv
into DIR, and DIR/manifest.txt with the rows written per table.

Two kinds of rows, none about a real person (ids and dates only):
  - the fixed cases that tests/integration/test_ssd.sh works out by hand
    (referrals 1001-1004, enquiries 2001-2003, plan 4001, period of care
    6001, missing episodes 7001-7002); their rows never change;
  - N filler children (seeded), closed referrals of 2023 with assessments,
    written in the date formats extracts use (ISO, ISO with a SQL Server
    time, DD/MM/YYYY), with quotes, commas and line breaks in free text,
    CRLF line ends and a UTF-8 byte-order mark on some files.
"""
import csv
import datetime
import os
import random
import sys

TABLES = {
    "ssd_person": "pers_person_id pers_dob pers_sex pers_gender pers_ethnicity "
                  "pers_upn pers_legacy_id",
    "ssd_department": "dept_team_id dept_team_name dept_team_parent_id dept_team_parent_name",
    "ssd_professionals": "prof_professional_id prof_staff_id prof_professional_job_title "
                         "prof_professional_department",
    "ssd_involvements": "invo_involvements_id invo_professional_id invo_professional_team "
                        "invo_referral_id invo_involvement_start_date "
                        "invo_involvement_end_date invo_worker_change_reason",
    "ssd_cin_episodes": "cine_referral_id cine_person_id cine_referral_date "
                        "cine_referral_nfa cine_referral_team cine_referral_worker_id "
                        "cine_close_date cine_close_reason cine_referral_source_desc",
    "ssd_cin_assessments": "cina_assessment_id cina_person_id cina_referral_id "
                           "cina_assessment_start_date cina_assessment_auth_date "
                           "cina_assessment_team cina_assessment_worker_id",
    "ssd_s47_enquiry": "s47e_s47_enquiry_id s47e_referral_id s47e_person_id "
                       "s47e_s47_start_date s47e_s47_end_date s47e_s47_nfa "
                       "s47e_s47_completed_by_team s47e_s47_completed_by_worker_id",
    "ssd_initial_cp_conference": "icpc_icpc_id icpc_s47_enquiry_id icpc_referral_id "
                                 "icpc_person_id icpc_icpc_date icpc_icpc_target_date "
                                 "icpc_icpc_outcome_cp_flag",
    "ssd_cp_plans": "cppl_cp_plan_id cppl_referral_id cppl_person_id "
                    "cppl_cp_plan_start_date cppl_cp_plan_end_date",
    "ssd_cp_reviews": "cppr_cp_review_id cppr_cp_plan_id cppr_cp_review_date "
                      "cppr_cp_review_due",
    "ssd_cla_episodes": "clae_cla_episode_id clae_cla_id clae_person_id clae_referral_id "
                        "clae_entered_care_date clae_cla_episode_start_date "
                        "clae_cla_episode_ceased_date clae_cla_placement_id",
    "ssd_cla_reviews": "clar_cla_review_id clar_cla_id clar_cla_review_date "
                       "clar_cla_review_due_date clar_cla_review_cancelled",
    "ssd_cla_visits": "clav_cla_visit_id clav_cla_id clav_person_id clav_cla_visit_date",
    "ssd_cla_care_plan": "lacp_person_id lacp_cla_care_plan_start_date "
                         "lacp_cla_care_plan_end_date",
    "ssd_cla_health": "clah_health_check_id clah_person_id clah_health_check_type "
                      "clah_health_check_date clah_health_check_status",
    "ssd_missing": "miss_table_id miss_person_id miss_missing_episode_start_date "
                   "miss_missing_episode_end_date miss_missing_rhi_offered",
    "deadlined_team_contacts": "team_ref name manager_email service_manager_email",
    "deadlined_worker_contacts": "worker_ref name email",
    "deadlined_extra_events": "case_ref kind occurred event_ref",
}

FIXED = {
    "ssd_person": [
        ("P1", "2016-02-10", "F", "", "WBRI", "", ""),
        ("P3", "2019-09-30", "M", "", "", "", ""),
        ("P6", "2015-06-01", "F", "", "", "", ""),
    ],
    "ssd_department": [
        ("T1", "Duty and Assessment", "S1", "Early help"),
        ("T2", "Child Protection North", "S1", "Early help"),
        ("T3", "Children in Care", "S2", "Corporate parenting"),
    ],
    "ssd_professionals": [
        ("W1", "S001", "Social Worker", "T1"),
        ("W2", "S002", "Senior Practitioner", "T2"),
        ("W3", "S003", "Social Worker", "T3"),
    ],
    # Referral 1001 moved to T2/W2 (open involvement); 1004 sits with T3.
    "ssd_involvements": [
        ("I1", "W1", "T1", "1001", "2024-05-13", "2024-05-31", "Transfer"),
        ("I2", "W2", "T2", "1001", "2024-05-31", "", ""),
        ("I3", "W3", "T3", "1004", "2024-02-26", "", ""),
    ],
    "ssd_cin_episodes": [
        ("1001", "P1", "2024-05-13", "N", "T1", "W1", "", "", "School"),
        ("1002", "P1", "2024-06-03", "Y", "T1", "W1", "2024-06-05", "RC8", "Police"),
        ("1003", "P3", "2024-05-23", "N", "T1", "W1", "", "", "Health, \"GP\""),
        ("1004", "P6", "2024-02-26", "N", "T3", "W3", "", "", "Police"),
    ],
    "ssd_cin_assessments": [
        ("A1001", "P1", "1001", "2024-05-14", "", "T1", "W1"),
        ("A1003", "P3", "1003", "2024-05-29", "2024-06-20", "T1", "W1"),
        ("A1004", "P6", "1004", "2024-02-27", "2024-03-20", "T3", "W3"),
    ],
    "ssd_s47_enquiry": [
        ("2001", "1001", "P1", "2024-06-03", "2024-06-21", "N", "T1", "W1"),
        ("2002", "1003", "P3", "2024-05-20", "", "N", "", ""),
        ("2003", "1003", "P3", "2024-06-10", "2024-06-14", "Y", "", ""),
    ],
    # 3002: the system's target is a day early (counts the start as day 1).
    "ssd_initial_cp_conference": [
        ("3001", "2001", "1001", "P1", "2024-06-21", "2024-06-24", "Y"),
        ("3002", "2002", "1003", "P3", "", "2024-06-10", ""),
    ],
    "ssd_cp_plans": [("4001", "1001", "P1", "2024-01-15", "")],
    # 5002: the next review, not yet held, due a day early by the system.
    "ssd_cp_reviews": [
        ("5001", "4001", "2024-04-10", "2024-04-15"),
        ("5002", "4001", "", "2024-10-09"),
    ],
    "ssd_cla_episodes": [
        ("E1", "6001", "P6", "1004", "2024-03-04", "2024-03-04", "2024-05-20", "PL1"),
        ("E2", "6001", "P6", "1004", "2024-03-04", "2024-05-20", "", "PL2"),
    ],
    "ssd_cla_reviews": [
        ("8001", "6001", "2024-03-28", "2024-04-03", "N"),
        ("8002", "6001", "2024-06-20", "2024-06-28", "N"),
        ("8003", "6001", "", "2024-12-20", "N"),
        ("8009", "6001", "2024-06-19", "2024-06-01", "Y"),   # cancelled: ignored
    ],
    "ssd_cla_visits": [
        ("V1", "6001", "P6", "2024-03-08"),
        ("V2", "6001", "P6", "2024-04-15"),
        ("V3", "6001", "P6", "2024-06-03"),
    ],
    "ssd_cla_care_plan": [("P6", "2024-03-01", "")],
    "ssd_cla_health": [
        ("H1", "P6", "Initial Health Assessment", "2024-03-25", "Completed"),
        ("H2", "P6", "Dental check", "2024-04-02", "Completed"),
    ],
    "ssd_missing": [
        ("7001", "P6", "2024-06-24 21:00:00.000", "2024-06-25 09:30:00.000", "Y"),
        ("7002", "P6", "2024-06-09 18:00", "2024-06-10T10:00", "Y"),
    ],
    # T2 has no row: its cases are reported, not dropped.
    "deadlined_team_contacts": [
        ("T1", "", "tm1@council.example", "sm1@council.example"),
        ("T3", "", "tm3@council.example", ""),
    ],
    "deadlined_worker_contacts": [
        ("W1", "Worker One", "w1@council.example"),
        ("W3", "Worker Three", "w3@council.example"),
    ],
    "deadlined_extra_events": [
        ("CLA-6001", "pep", "2024-03-27", "pep1"),
        ("MISS-7002", "return_home_interview", "2024-06-12 15:00", "rhi1"),
    ],
}


def fmt_date(rng, d):
    """The same day as one of the formats extracts use."""
    style = rng.randrange(3)
    if style == 0:
        return d.isoformat()
    if style == 1:
        return d.isoformat() + " 00:00:00.000"
    return d.strftime("%d/%m/%Y")


def filler(rng, n):
    rows = {t: [] for t in TABLES}
    start = datetime.date(2023, 1, 2)
    for i in range(n):
        pid, rid = "F%05d" % i, str(900000 + i)
        dob = start - datetime.timedelta(days=rng.randrange(200, 6000))
        ref = start + datetime.timedelta(days=rng.randrange(0, 300))
        closed = ref + datetime.timedelta(days=rng.randrange(20, 60))
        rows["ssd_person"].append((pid, fmt_date(rng, dob), rng.choice("MF"), "", "", "", ""))
        note = rng.choice(["School", "Police, \"urgent\"", "Health\nvisitor", "Self"])
        rows["ssd_cin_episodes"].append((rid, pid, fmt_date(rng, ref), "N", "T1", "W1",
                                         fmt_date(rng, closed), "RC1", note))
        began = ref + datetime.timedelta(days=rng.randrange(0, 3))
        done = began + datetime.timedelta(days=rng.randrange(5, 80))
        rows["ssd_cin_assessments"].append(("A" + rid, pid, rid, fmt_date(rng, began),
                                            fmt_date(rng, done) if done < closed else "",
                                            "T1", "W1"))
    return rows


def write(folder, table, header, rows, rng):
    path = os.path.join(folder, table + ".csv")
    crlf = rng.random() < 0.5
    with open(path, "w", newline="", encoding="utf-8-sig" if rng.random() < 0.5 else "utf-8") as f:
        w = csv.writer(f, lineterminator="\r\n" if crlf else "\n",
                       quoting=csv.QUOTE_MINIMAL if rng.random() < 0.7 else csv.QUOTE_ALL)
        w.writerow(header)
        w.writerows(rows)


def main():
    args = sys.argv[1:]
    seed, nfill = 7, 200
    if not args:
        sys.exit(__doc__)
    folder = args.pop(0)
    while args:
        opt = args.pop(0)
        if opt == "--seed":
            seed = int(args.pop(0))
        elif opt == "--filler":
            nfill = int(args.pop(0))
        else:
            sys.exit("gen_ssd.py: unknown option %s" % opt)
    rng = random.Random(seed)
    os.makedirs(folder, exist_ok=True)
    extra = filler(rng, nfill)
    with open(os.path.join(folder, "manifest.txt"), "w") as m:
        for table, cols in TABLES.items():
            rows = FIXED.get(table, []) + extra.get(table, [])
            write(folder, table, cols.split(), rows, rng)
            m.write("%s %d\n" % (table, len(rows)))


if __name__ == "__main__":
    main()
