-- ssd-views-mssql.sql - the case-database contract as SQL Server views over
-- the Standard Safeguarding Dataset (SSD).
--
-- The T-SQL twin of ssd-views.sql (SQLite) and ssd-views-pg.sql
-- (PostgreSQL): the same views and mapping (docs/SSD.md), for the SSD
-- where councils build it, in their SQL Server reporting database.
--
-- NOT RUN AGAINST A SQL SERVER.  No SQL Server runs where deadlined is
-- built: this file is only parsed (tests/integration/test_odbc_views.sh,
-- with python3-sqlglot's tsql dialect), and checked for what T-SQL lacks
-- (||, boolean sort keys, unnamed derived tables).  Try it on a copy
-- first, and tell us what it needed.
--
-- It assumes, like the others, that dates compare as ISO text or as date
-- values and that ids are text or numbers (CONCAT turns either into
-- text).  The SSD for SQL Server types its dates as DATETIME: the views
-- then give 'YYYY-MM-DD HH:MM:SS.mmm' where deadlined wants ISO dates, so
-- wrap each date column in CONVERT(VARCHAR(10), col, 23) (a date) or
-- CONVERT(VARCHAR(19), col, 126) (a time of day, as for missing
-- episodes) before relying on it.
--
-- Differences from the PostgreSQL file: CONCAT() for ||, DATEADD for date
-- arithmetic, and GO between statements (CREATE VIEW must begin a batch:
-- run it with sqlcmd -i).  DROP VIEW IF EXISTS needs SQL Server 2016.
-- Grant the daemon's login SELECT on the four deadlined_* views only
-- (docs/OPERATIONS.md).

DROP VIEW IF EXISTS deadlined_expected_due;
GO

DROP VIEW IF EXISTS deadlined_events;
GO

DROP VIEW IF EXISTS deadlined_cases;
GO

DROP VIEW IF EXISTS deadlined_workers;
GO

DROP VIEW IF EXISTS deadlined_teams;
GO

DROP VIEW IF EXISTS ssd_dl_cla_periods;
GO

DROP VIEW IF EXISTS ssd_dl_cla_reviews;
GO

DROP VIEW IF EXISTS ssd_dl_person_owner;
GO

DROP VIEW IF EXISTS ssd_dl_referral_owner;
GO

-- The owner of each referral: its current involvement, else its own.
CREATE VIEW ssd_dl_referral_owner AS
SELECT e.cine_referral_id AS referral_id,
       e.cine_person_id AS person_id,
       COALESCE(i.invo_professional_team, e.cine_referral_team) AS team_ref,
       COALESCE(i.invo_professional_id, e.cine_referral_worker_id) AS worker_ref
FROM ssd_cin_episodes e
LEFT JOIN (
    SELECT invo_referral_id, invo_professional_team, invo_professional_id,
           row_number() OVER (
               PARTITION BY invo_referral_id
               ORDER BY CASE WHEN invo_involvement_end_date IS NULL THEN 0 ELSE 1 END,
                        CASE WHEN invo_involvement_start_date IS NULL THEN 1 ELSE 0 END,
                        invo_involvement_start_date DESC,
                        CASE WHEN invo_involvements_id IS NULL THEN 1 ELSE 0 END,
                        invo_involvements_id DESC) AS n
    FROM ssd_involvements
) i ON i.invo_referral_id = e.cine_referral_id AND i.n = 1
WHERE e.cine_referral_id IS NOT NULL;
GO

-- The owner of each child: the owner of their open, else latest, referral.
CREATE VIEW ssd_dl_person_owner AS
SELECT person_id, team_ref, worker_ref
FROM (
    SELECT o.person_id, o.team_ref, o.worker_ref,
           row_number() OVER (
               PARTITION BY o.person_id
               ORDER BY CASE WHEN e.cine_close_date IS NULL THEN 0 ELSE 1 END,
                        CASE WHEN e.cine_referral_date IS NULL THEN 1 ELSE 0 END,
                        e.cine_referral_date DESC, e.cine_referral_id DESC) AS n
    FROM ssd_dl_referral_owner o
    JOIN ssd_cin_episodes e ON e.cine_referral_id = o.referral_id
) ranked
WHERE n = 1;
GO

-- One row per period of care: when it started, when it ended (NULL while
-- any of its episodes is open), its child and its latest referral.
CREATE VIEW ssd_dl_cla_periods AS
SELECT clae_cla_id AS cla_id,
       MIN(clae_person_id) AS person_id,
       MIN(COALESCE(clae_entered_care_date, clae_cla_episode_start_date)) AS started,
       CASE WHEN COUNT(*) = COUNT(clae_cla_episode_ceased_date)
            THEN MAX(clae_cla_episode_ceased_date) END AS ended,
       MAX(clae_referral_id) AS referral_id
FROM ssd_cla_episodes
WHERE clae_cla_id IS NOT NULL
GROUP BY clae_cla_id;
GO

-- The reviews of looked-after children that were not cancelled.
CREATE VIEW ssd_dl_cla_reviews AS
SELECT * FROM ssd_cla_reviews
WHERE clar_cla_id IS NOT NULL
  AND UPPER(LTRIM(RTRIM(COALESCE(clar_cla_review_cancelled, 'N'))))
      NOT IN ('Y', 'YES', '1', 'TRUE', 'T');
GO

CREATE VIEW deadlined_teams AS
SELECT d.dept_team_id AS team_ref,
       COALESCE(MIN(c.name), MIN(d.dept_team_name), d.dept_team_id) AS name,
       MIN(c.manager_email) AS manager_email,
       MIN(c.service_manager_email) AS service_manager_email
FROM ssd_department d
LEFT JOIN deadlined_team_contacts c ON c.team_ref = d.dept_team_id
WHERE d.dept_team_id IS NOT NULL
GROUP BY d.dept_team_id
UNION ALL
SELECT c.team_ref, COALESCE(c.name, c.team_ref), c.manager_email, c.service_manager_email
FROM deadlined_team_contacts c
WHERE c.team_ref IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ssd_department d WHERE d.dept_team_id = c.team_ref);
GO

-- The SSD has no names of staff: a contact row's name, else the staff id.
CREATE VIEW deadlined_workers AS
SELECT p.prof_professional_id AS worker_ref,
       COALESCE(MIN(c.name), MIN(p.prof_staff_id), p.prof_professional_id) AS name,
       MIN(c.email) AS email,
       MIN(p.prof_professional_department) AS team_ref
FROM ssd_professionals p
LEFT JOIN deadlined_worker_contacts c ON c.worker_ref = p.prof_professional_id
WHERE p.prof_professional_id IS NOT NULL
GROUP BY p.prof_professional_id
UNION ALL
SELECT c.worker_ref, COALESCE(c.name, c.worker_ref), c.email, NULL
FROM deadlined_worker_contacts c
WHERE c.worker_ref IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ssd_professionals p
                  WHERE p.prof_professional_id = c.worker_ref);
GO

CREATE VIEW deadlined_cases AS
SELECT CONCAT('REF-', e.cine_referral_id) AS case_ref, e.cine_person_id AS child_ref,
       p.pers_dob AS date_of_birth, o.team_ref AS team_ref, o.worker_ref AS worker_ref
FROM ssd_cin_episodes e
LEFT JOIN ssd_person p ON p.pers_person_id = e.cine_person_id
LEFT JOIN ssd_dl_referral_owner o ON o.referral_id = e.cine_referral_id
WHERE e.cine_referral_id IS NOT NULL
UNION ALL
SELECT CONCAT('S47-', s.s47e_s47_enquiry_id), s.s47e_person_id, p.pers_dob,
       COALESCE(s.s47e_s47_completed_by_team, o.team_ref),
       COALESCE(s.s47e_s47_completed_by_worker_id, o.worker_ref)
FROM ssd_s47_enquiry s
LEFT JOIN ssd_person p ON p.pers_person_id = s.s47e_person_id
LEFT JOIN ssd_dl_referral_owner o ON o.referral_id = s.s47e_referral_id
WHERE s.s47e_s47_enquiry_id IS NOT NULL
UNION ALL
SELECT CONCAT('CPP-', c.cppl_cp_plan_id), c.cppl_person_id, p.pers_dob,
       COALESCE(o.team_ref, po.team_ref), COALESCE(o.worker_ref, po.worker_ref)
FROM ssd_cp_plans c
LEFT JOIN ssd_person p ON p.pers_person_id = c.cppl_person_id
LEFT JOIN ssd_dl_referral_owner o ON o.referral_id = c.cppl_referral_id
LEFT JOIN ssd_dl_person_owner po ON po.person_id = c.cppl_person_id
WHERE c.cppl_cp_plan_id IS NOT NULL
UNION ALL
SELECT CONCAT('CLA-', l.cla_id), l.person_id, p.pers_dob,
       COALESCE(o.team_ref, po.team_ref), COALESCE(o.worker_ref, po.worker_ref)
FROM ssd_dl_cla_periods l
LEFT JOIN ssd_person p ON p.pers_person_id = l.person_id
LEFT JOIN ssd_dl_referral_owner o ON o.referral_id = l.referral_id
LEFT JOIN ssd_dl_person_owner po ON po.person_id = l.person_id
UNION ALL
SELECT CONCAT('MISS-', m.miss_table_id), m.miss_person_id, p.pers_dob, po.team_ref, po.worker_ref
FROM ssd_missing m
LEFT JOIN ssd_person p ON p.pers_person_id = m.miss_person_id
LEFT JOIN ssd_dl_person_owner po ON po.person_id = m.miss_person_id
WHERE m.miss_table_id IS NOT NULL;
GO

CREATE VIEW deadlined_events AS
-- Referrals
SELECT CONCAT('REF-', cine_referral_id) AS case_ref, 'referral' AS kind,
       cine_referral_date AS occurred, CONCAT('cine:', cine_referral_id) AS event_ref
FROM ssd_cin_episodes
WHERE cine_referral_id IS NOT NULL AND cine_referral_date IS NOT NULL
UNION ALL
SELECT CONCAT('REF-', cine_referral_id), 'referral_nfa', cine_referral_date,
       CONCAT('cine:', cine_referral_id)
FROM ssd_cin_episodes
WHERE cine_referral_id IS NOT NULL AND cine_referral_date IS NOT NULL
  AND UPPER(LTRIM(RTRIM(cine_referral_nfa))) IN ('Y', 'YES', '1', 'TRUE', 'T')
UNION ALL
SELECT CONCAT('REF-', cine_referral_id), 'case_closed', cine_close_date, CONCAT('cine:', cine_referral_id)
FROM ssd_cin_episodes
WHERE cine_referral_id IS NOT NULL AND cine_close_date IS NOT NULL
UNION ALL
-- The SSD records no decision date: the first assessment's start is the
-- latest the decision can have been made.
SELECT CONCAT('REF-', cina_referral_id), 'referral_decision', MIN(cina_assessment_start_date),
       CONCAT('cina:', MIN(cina_assessment_id))
FROM ssd_cin_assessments
WHERE cina_referral_id IS NOT NULL AND cina_assessment_start_date IS NOT NULL
GROUP BY cina_referral_id
UNION ALL
SELECT CONCAT('REF-', cina_referral_id), 'assessment_started', cina_assessment_start_date,
       CONCAT('cina:', cina_assessment_id)
FROM ssd_cin_assessments
WHERE cina_referral_id IS NOT NULL AND cina_assessment_start_date IS NOT NULL
UNION ALL
SELECT CONCAT('REF-', cina_referral_id), 'assessment_completed', cina_assessment_auth_date,
       CONCAT('cina:', cina_assessment_id)
FROM ssd_cin_assessments
WHERE cina_referral_id IS NOT NULL AND cina_assessment_auth_date IS NOT NULL
UNION ALL
-- Section 47 enquiries and initial conferences
SELECT CONCAT('S47-', s47e_s47_enquiry_id), 's47_started', s47e_s47_start_date,
       CONCAT('s47e:', s47e_s47_enquiry_id)
FROM ssd_s47_enquiry
WHERE s47e_s47_enquiry_id IS NOT NULL AND s47e_s47_start_date IS NOT NULL
UNION ALL
SELECT CONCAT('S47-', s47e_s47_enquiry_id), 's47_nfa', s47e_s47_end_date,
       CONCAT('s47e:', s47e_s47_enquiry_id)
FROM ssd_s47_enquiry
WHERE s47e_s47_enquiry_id IS NOT NULL AND s47e_s47_end_date IS NOT NULL
  AND UPPER(LTRIM(RTRIM(s47e_s47_nfa))) IN ('Y', 'YES', '1', 'TRUE', 'T')
UNION ALL
SELECT CONCAT('S47-', s.s47e_s47_enquiry_id), 'case_closed', e.cine_close_date,
       CONCAT('cine:', e.cine_referral_id)
FROM ssd_s47_enquiry s
JOIN ssd_cin_episodes e ON e.cine_referral_id = s.s47e_referral_id
WHERE s.s47e_s47_enquiry_id IS NOT NULL AND e.cine_close_date IS NOT NULL
UNION ALL
SELECT CONCAT('S47-', icpc_s47_enquiry_id), 'icpc', icpc_icpc_date, CONCAT('icpc:', icpc_icpc_id)
FROM ssd_initial_cp_conference
WHERE icpc_s47_enquiry_id IS NOT NULL AND icpc_icpc_date IS NOT NULL
UNION ALL
-- Child protection plans
SELECT CONCAT('CPP-', cppl_cp_plan_id), 'cp_plan_started', cppl_cp_plan_start_date,
       CONCAT('cppl:', cppl_cp_plan_id)
FROM ssd_cp_plans
WHERE cppl_cp_plan_id IS NOT NULL AND cppl_cp_plan_start_date IS NOT NULL
UNION ALL
SELECT CONCAT('CPP-', cppl_cp_plan_id), 'cp_plan_ended', cppl_cp_plan_end_date,
       CONCAT('cppl:', cppl_cp_plan_id)
FROM ssd_cp_plans
WHERE cppl_cp_plan_id IS NOT NULL AND cppl_cp_plan_end_date IS NOT NULL
UNION ALL
SELECT CONCAT('CPP-', cppr_cp_plan_id), 'cp_review_conference', cppr_cp_review_date,
       CONCAT('cppr:', cppr_cp_review_id)
FROM ssd_cp_reviews
WHERE cppr_cp_plan_id IS NOT NULL AND cppr_cp_review_date IS NOT NULL
UNION ALL
-- Periods of care
SELECT CONCAT('CLA-', cla_id), 'cla_started', started, CONCAT('clae:', cla_id)
FROM ssd_dl_cla_periods
WHERE started IS NOT NULL
UNION ALL
SELECT CONCAT('CLA-', cla_id), 'cla_ended', ended, CONCAT('clae:', cla_id)
FROM ssd_dl_cla_periods
WHERE ended IS NOT NULL
UNION ALL
SELECT CONCAT('CLA-', clae_cla_id), 'placement_started', clae_cla_episode_start_date,
       CONCAT('clae:', clae_cla_episode_id)
FROM ssd_cla_episodes
WHERE clae_cla_id IS NOT NULL AND clae_cla_episode_start_date IS NOT NULL
UNION ALL
SELECT CONCAT('CLA-', clar_cla_id), 'cla_review', clar_cla_review_date, CONCAT('clar:', clar_cla_review_id)
FROM ssd_dl_cla_reviews
WHERE clar_cla_review_date IS NOT NULL
UNION ALL
SELECT CONCAT('CLA-', clav_cla_id), 'cla_visit', clav_cla_visit_date, CONCAT('clav:', clav_cla_visit_id)
FROM ssd_cla_visits
WHERE clav_cla_id IS NOT NULL AND clav_cla_visit_date IS NOT NULL
UNION ALL
-- Care plans name the child, not the period: a plan belongs to the period
-- it falls in, or that starts within 28 days after it (a plan made before
-- the first placement, as regulation 4 asks), and counts from the later of
-- the two dates.
SELECT CONCAT('CLA-', l.cla_id), 'care_plan', CASE WHEN c.lacp_cla_care_plan_start_date > l.started
            THEN c.lacp_cla_care_plan_start_date ELSE l.started END,
       CONCAT('lacp:', c.lacp_person_id, ':', c.lacp_cla_care_plan_start_date)
FROM ssd_cla_care_plan c
JOIN ssd_dl_cla_periods l ON l.person_id = c.lacp_person_id
WHERE c.lacp_cla_care_plan_start_date IS NOT NULL AND l.started IS NOT NULL
  AND c.lacp_cla_care_plan_start_date >= CONVERT(VARCHAR(10), DATEADD(day, -28, CAST(l.started AS DATE)), 23)
  AND c.lacp_cla_care_plan_start_date <= COALESCE(l.ended, '9999-12-31')
UNION ALL
-- Health checks name the child too: those within a period belong to it.
-- The type says which assessment, matched loosely because systems word it
-- differently, and checks refused, declined or cancelled are not held.
SELECT CONCAT('CLA-', l.cla_id),
       CASE WHEN LOWER(h.clah_health_check_type) LIKE '%initial%'
            THEN 'initial_health_assessment' ELSE 'review_health_assessment' END,
       h.clah_health_check_date, CONCAT('clah:', h.clah_health_check_id)
FROM ssd_cla_health h
JOIN ssd_dl_cla_periods l ON l.person_id = h.clah_person_id
WHERE h.clah_health_check_date IS NOT NULL AND l.started IS NOT NULL
  AND h.clah_health_check_date >= l.started
  AND h.clah_health_check_date <= COALESCE(l.ended, '9999-12-31')
  AND (LOWER(h.clah_health_check_type) LIKE '%initial%'
       OR LOWER(h.clah_health_check_type) LIKE '%review%')
  AND LOWER(COALESCE(h.clah_health_check_status, '')) NOT LIKE '%refus%'
  AND LOWER(COALESCE(h.clah_health_check_status, '')) NOT LIKE '%declin%'
  AND LOWER(COALESCE(h.clah_health_check_status, '')) NOT LIKE '%cancel%'
UNION ALL
-- Missing episodes: the return starts the return interview's clock.
SELECT CONCAT('MISS-', miss_table_id), 'missing_returned', miss_missing_episode_end_date,
       CONCAT('miss:', miss_table_id)
FROM ssd_missing
WHERE miss_table_id IS NOT NULL AND miss_missing_episode_end_date IS NOT NULL
UNION ALL
-- What the council adds.
SELECT case_ref, kind, occurred, event_ref
FROM deadlined_extra_events;
GO

-- The case system's own due dates, for `deadlinectl check-data`: event_ref
-- names the event that met the obligation (an event not yet held, or not
-- in deadlined_events, means the open one).
CREATE VIEW deadlined_expected_due AS
SELECT CONCAT('CLA-', clar_cla_id) AS case_ref, 'cla-review' AS rule,
       clar_cla_review_due_date AS due, CONCAT('clar:', clar_cla_review_id) AS event_ref
FROM ssd_dl_cla_reviews
WHERE clar_cla_review_due_date IS NOT NULL
UNION ALL
SELECT CONCAT('S47-', icpc_s47_enquiry_id), 'icpc', icpc_icpc_target_date, CONCAT('icpc:', icpc_icpc_id)
FROM ssd_initial_cp_conference
WHERE icpc_s47_enquiry_id IS NOT NULL AND icpc_icpc_target_date IS NOT NULL
UNION ALL
SELECT CONCAT('CPP-', cppr_cp_plan_id), 'cp-review-conference', cppr_cp_review_due,
       CONCAT('cppr:', cppr_cp_review_id)
FROM ssd_cp_reviews
WHERE cppr_cp_plan_id IS NOT NULL AND cppr_cp_review_due IS NOT NULL;
GO
