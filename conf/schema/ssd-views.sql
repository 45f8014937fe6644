-- ssd-views.sql - the case-database contract as views over the Standard
-- Safeguarding Dataset (SSD).
--
-- deadlined reads four relations (DESIGN.md, "The case-database contract").
-- Here they are views over SSD tables named and spelt as in
-- reference/ssd-columns.txt, loaded by `deadlinectl import-ssd`, which
-- installs this file (compiled in). docs/SSD.md has the mapping as a table,
-- what the SSD cannot supply, and what a council adds.
--
-- A case is one episode, so that each rule's clock sees only its own events:
--   REF-<cine_referral_id>   a referral and its CIN episode: referral,
--                            decision, assessment, closure
--   S47-<s47e_s47_enquiry_id> a section 47 enquiry and its initial child
--                            protection conference
--   CPP-<cppl_cp_plan_id>    a child protection plan and its reviews
--   CLA-<clae_cla_id>        a period of care (its placements are the
--                            ssd_cla_episodes rows sharing clae_cla_id):
--                            reviews, visits, care plan, health
--   MISS-<miss_table_id>     a missing episode and its return interview
-- A child with a referral, an enquiry and a plan has three cases: the
-- referral's 45-working-day assessment clock never meets a plan review.
--
-- Owners: the team and worker of a case are those of its referral's
-- current involvement (ssd_involvements: open, latest started), else the
-- referral's own team and worker. An s47 enquiry's completing team and
-- worker come first. A missing episode belongs to the owner of the child's
-- open (else latest) referral.
--
-- Contacts: the SSD holds no e-mail addresses. deadlined_team_contacts
-- (team_ref, name, manager_email, service_manager_email) and
-- deadlined_worker_contacts (worker_ref, name, email) supply them, from
-- CSV files of those names beside the extract. A team with no address is
-- still a team: check-data reports its cases.
--
-- deadlined_extra_events (case_ref, kind, occurred, event_ref) adds what
-- the SSD does not carry (strategy discussions, PEPs, return interviews,
-- health Part A). Its rows are passed through as they are.
--
-- Flags (cine_referral_nfa, s47e_s47_nfa, clar_cla_review_cancelled) count
-- as set when they read Y, YES, 1, TRUE or T in any case.
--
-- Dates are text as import-ssd stores them: YYYY-MM-DD or
-- YYYY-MM-DDTHH:MM[:SS]. Rows without the date an event needs give no
-- event, and ids are compared as text.
--
-- Idempotent. No semicolons inside comments, so a naive statement splitter
-- works.

DROP VIEW IF EXISTS deadlined_expected_due;
DROP VIEW IF EXISTS deadlined_events;
DROP VIEW IF EXISTS deadlined_cases;
DROP VIEW IF EXISTS deadlined_workers;
DROP VIEW IF EXISTS deadlined_teams;
DROP VIEW IF EXISTS ssd_dl_cla_periods;
DROP VIEW IF EXISTS ssd_dl_cla_reviews;
DROP VIEW IF EXISTS ssd_dl_person_owner;
DROP VIEW IF EXISTS ssd_dl_referral_owner;

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
               ORDER BY invo_involvement_end_date IS NOT NULL,
                        invo_involvement_start_date DESC,
                        invo_involvements_id DESC) AS n
    FROM ssd_involvements
) i ON i.invo_referral_id = e.cine_referral_id AND i.n = 1
WHERE e.cine_referral_id IS NOT NULL;

-- The owner of each child: the owner of their open, else latest, referral.
CREATE VIEW ssd_dl_person_owner AS
SELECT person_id, team_ref, worker_ref
FROM (
    SELECT o.person_id, o.team_ref, o.worker_ref,
           row_number() OVER (
               PARTITION BY o.person_id
               ORDER BY e.cine_close_date IS NOT NULL, e.cine_referral_date DESC,
                        e.cine_referral_id DESC) AS n
    FROM ssd_dl_referral_owner o
    JOIN ssd_cin_episodes e ON e.cine_referral_id = o.referral_id
)
WHERE n = 1;

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

-- The reviews of looked-after children that were not cancelled.
CREATE VIEW ssd_dl_cla_reviews AS
SELECT * FROM ssd_cla_reviews
WHERE clar_cla_id IS NOT NULL
  AND upper(trim(COALESCE(clar_cla_review_cancelled, 'N')))
      NOT IN ('Y', 'YES', '1', 'TRUE', 'T');

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

CREATE VIEW deadlined_cases AS
SELECT 'REF-' || e.cine_referral_id AS case_ref, e.cine_person_id AS child_ref,
       p.pers_dob AS date_of_birth, o.team_ref AS team_ref, o.worker_ref AS worker_ref
FROM ssd_cin_episodes e
LEFT JOIN ssd_person p ON p.pers_person_id = e.cine_person_id
LEFT JOIN ssd_dl_referral_owner o ON o.referral_id = e.cine_referral_id
WHERE e.cine_referral_id IS NOT NULL
UNION ALL
SELECT 'S47-' || s.s47e_s47_enquiry_id, s.s47e_person_id, p.pers_dob,
       COALESCE(s.s47e_s47_completed_by_team, o.team_ref),
       COALESCE(s.s47e_s47_completed_by_worker_id, o.worker_ref)
FROM ssd_s47_enquiry s
LEFT JOIN ssd_person p ON p.pers_person_id = s.s47e_person_id
LEFT JOIN ssd_dl_referral_owner o ON o.referral_id = s.s47e_referral_id
WHERE s.s47e_s47_enquiry_id IS NOT NULL
UNION ALL
SELECT 'CPP-' || c.cppl_cp_plan_id, c.cppl_person_id, p.pers_dob,
       COALESCE(o.team_ref, po.team_ref), COALESCE(o.worker_ref, po.worker_ref)
FROM ssd_cp_plans c
LEFT JOIN ssd_person p ON p.pers_person_id = c.cppl_person_id
LEFT JOIN ssd_dl_referral_owner o ON o.referral_id = c.cppl_referral_id
LEFT JOIN ssd_dl_person_owner po ON po.person_id = c.cppl_person_id
WHERE c.cppl_cp_plan_id IS NOT NULL
UNION ALL
SELECT 'CLA-' || l.cla_id, l.person_id, p.pers_dob,
       COALESCE(o.team_ref, po.team_ref), COALESCE(o.worker_ref, po.worker_ref)
FROM ssd_dl_cla_periods l
LEFT JOIN ssd_person p ON p.pers_person_id = l.person_id
LEFT JOIN ssd_dl_referral_owner o ON o.referral_id = l.referral_id
LEFT JOIN ssd_dl_person_owner po ON po.person_id = l.person_id
UNION ALL
SELECT 'MISS-' || m.miss_table_id, m.miss_person_id, p.pers_dob, po.team_ref, po.worker_ref
FROM ssd_missing m
LEFT JOIN ssd_person p ON p.pers_person_id = m.miss_person_id
LEFT JOIN ssd_dl_person_owner po ON po.person_id = m.miss_person_id
WHERE m.miss_table_id IS NOT NULL;

CREATE VIEW deadlined_events AS
-- Referrals
SELECT 'REF-' || cine_referral_id AS case_ref, 'referral' AS kind,
       cine_referral_date AS occurred, 'cine:' || cine_referral_id AS event_ref
FROM ssd_cin_episodes
WHERE cine_referral_id IS NOT NULL AND cine_referral_date IS NOT NULL
UNION ALL
SELECT 'REF-' || cine_referral_id, 'referral_nfa', cine_referral_date,
       'cine:' || cine_referral_id
FROM ssd_cin_episodes
WHERE cine_referral_id IS NOT NULL AND cine_referral_date IS NOT NULL
  AND upper(trim(cine_referral_nfa)) IN ('Y', 'YES', '1', 'TRUE', 'T')
UNION ALL
SELECT 'REF-' || cine_referral_id, 'case_closed', cine_close_date, 'cine:' || cine_referral_id
FROM ssd_cin_episodes
WHERE cine_referral_id IS NOT NULL AND cine_close_date IS NOT NULL
UNION ALL
-- The SSD records no decision date: the first assessment's start is the
-- latest the decision can have been made.
SELECT 'REF-' || cina_referral_id, 'referral_decision', MIN(cina_assessment_start_date),
       'cina:' || MIN(cina_assessment_id)
FROM ssd_cin_assessments
WHERE cina_referral_id IS NOT NULL AND cina_assessment_start_date IS NOT NULL
GROUP BY cina_referral_id
UNION ALL
SELECT 'REF-' || cina_referral_id, 'assessment_started', cina_assessment_start_date,
       'cina:' || cina_assessment_id
FROM ssd_cin_assessments
WHERE cina_referral_id IS NOT NULL AND cina_assessment_start_date IS NOT NULL
UNION ALL
SELECT 'REF-' || cina_referral_id, 'assessment_completed', cina_assessment_auth_date,
       'cina:' || cina_assessment_id
FROM ssd_cin_assessments
WHERE cina_referral_id IS NOT NULL AND cina_assessment_auth_date IS NOT NULL
UNION ALL
-- Section 47 enquiries and initial conferences
SELECT 'S47-' || s47e_s47_enquiry_id, 's47_started', s47e_s47_start_date,
       's47e:' || s47e_s47_enquiry_id
FROM ssd_s47_enquiry
WHERE s47e_s47_enquiry_id IS NOT NULL AND s47e_s47_start_date IS NOT NULL
UNION ALL
SELECT 'S47-' || s47e_s47_enquiry_id, 's47_nfa', s47e_s47_end_date,
       's47e:' || s47e_s47_enquiry_id
FROM ssd_s47_enquiry
WHERE s47e_s47_enquiry_id IS NOT NULL AND s47e_s47_end_date IS NOT NULL
  AND upper(trim(s47e_s47_nfa)) IN ('Y', 'YES', '1', 'TRUE', 'T')
UNION ALL
SELECT 'S47-' || s.s47e_s47_enquiry_id, 'case_closed', e.cine_close_date,
       'cine:' || e.cine_referral_id
FROM ssd_s47_enquiry s
JOIN ssd_cin_episodes e ON e.cine_referral_id = s.s47e_referral_id
WHERE s.s47e_s47_enquiry_id IS NOT NULL AND e.cine_close_date IS NOT NULL
UNION ALL
SELECT 'S47-' || icpc_s47_enquiry_id, 'icpc', icpc_icpc_date, 'icpc:' || icpc_icpc_id
FROM ssd_initial_cp_conference
WHERE icpc_s47_enquiry_id IS NOT NULL AND icpc_icpc_date IS NOT NULL
UNION ALL
-- Child protection plans
SELECT 'CPP-' || cppl_cp_plan_id, 'cp_plan_started', cppl_cp_plan_start_date,
       'cppl:' || cppl_cp_plan_id
FROM ssd_cp_plans
WHERE cppl_cp_plan_id IS NOT NULL AND cppl_cp_plan_start_date IS NOT NULL
UNION ALL
SELECT 'CPP-' || cppl_cp_plan_id, 'cp_plan_ended', cppl_cp_plan_end_date,
       'cppl:' || cppl_cp_plan_id
FROM ssd_cp_plans
WHERE cppl_cp_plan_id IS NOT NULL AND cppl_cp_plan_end_date IS NOT NULL
UNION ALL
SELECT 'CPP-' || cppr_cp_plan_id, 'cp_review_conference', cppr_cp_review_date,
       'cppr:' || cppr_cp_review_id
FROM ssd_cp_reviews
WHERE cppr_cp_plan_id IS NOT NULL AND cppr_cp_review_date IS NOT NULL
UNION ALL
-- Periods of care
SELECT 'CLA-' || cla_id, 'cla_started', started, 'clae:' || cla_id
FROM ssd_dl_cla_periods
WHERE started IS NOT NULL
UNION ALL
SELECT 'CLA-' || cla_id, 'cla_ended', ended, 'clae:' || cla_id
FROM ssd_dl_cla_periods
WHERE ended IS NOT NULL
UNION ALL
SELECT 'CLA-' || clae_cla_id, 'placement_started', clae_cla_episode_start_date,
       'clae:' || clae_cla_episode_id
FROM ssd_cla_episodes
WHERE clae_cla_id IS NOT NULL AND clae_cla_episode_start_date IS NOT NULL
UNION ALL
SELECT 'CLA-' || clar_cla_id, 'cla_review', clar_cla_review_date, 'clar:' || clar_cla_review_id
FROM ssd_dl_cla_reviews
WHERE clar_cla_review_date IS NOT NULL
UNION ALL
SELECT 'CLA-' || clav_cla_id, 'cla_visit', clav_cla_visit_date, 'clav:' || clav_cla_visit_id
FROM ssd_cla_visits
WHERE clav_cla_id IS NOT NULL AND clav_cla_visit_date IS NOT NULL
UNION ALL
-- Care plans name the child, not the period: a plan belongs to the period
-- it falls in, or that starts within 28 days after it (a plan made before
-- the first placement, as regulation 4 asks), and counts from the later of
-- the two dates.
SELECT 'CLA-' || l.cla_id, 'care_plan', MAX(c.lacp_cla_care_plan_start_date, l.started),
       'lacp:' || c.lacp_person_id || ':' || c.lacp_cla_care_plan_start_date
FROM ssd_cla_care_plan c
JOIN ssd_dl_cla_periods l ON l.person_id = c.lacp_person_id
WHERE c.lacp_cla_care_plan_start_date IS NOT NULL AND l.started IS NOT NULL
  AND c.lacp_cla_care_plan_start_date >= date(substr(l.started, 1, 10), '-28 days')
  AND c.lacp_cla_care_plan_start_date <= COALESCE(l.ended, '9999-12-31')
UNION ALL
-- Health checks name the child too: those within a period belong to it.
-- The type says which assessment, matched loosely because systems word it
-- differently, and checks refused, declined or cancelled are not held.
SELECT 'CLA-' || l.cla_id,
       CASE WHEN lower(h.clah_health_check_type) LIKE '%initial%'
            THEN 'initial_health_assessment' ELSE 'review_health_assessment' END,
       h.clah_health_check_date, 'clah:' || h.clah_health_check_id
FROM ssd_cla_health h
JOIN ssd_dl_cla_periods l ON l.person_id = h.clah_person_id
WHERE h.clah_health_check_date IS NOT NULL AND l.started IS NOT NULL
  AND h.clah_health_check_date >= l.started
  AND h.clah_health_check_date <= COALESCE(l.ended, '9999-12-31')
  AND (lower(h.clah_health_check_type) LIKE '%initial%'
       OR lower(h.clah_health_check_type) LIKE '%review%')
  AND lower(COALESCE(h.clah_health_check_status, '')) NOT LIKE '%refus%'
  AND lower(COALESCE(h.clah_health_check_status, '')) NOT LIKE '%declin%'
  AND lower(COALESCE(h.clah_health_check_status, '')) NOT LIKE '%cancel%'
UNION ALL
-- Missing episodes: the return starts the return interview's clock.
SELECT 'MISS-' || miss_table_id, 'missing_returned', miss_missing_episode_end_date,
       'miss:' || miss_table_id
FROM ssd_missing
WHERE miss_table_id IS NOT NULL AND miss_missing_episode_end_date IS NOT NULL
UNION ALL
-- What the council adds.
SELECT case_ref, kind, occurred, event_ref
FROM deadlined_extra_events;

-- The case system's own due dates, for `deadlinectl check-data`: event_ref
-- names the event that met the obligation (an event not yet held, or not
-- in deadlined_events, means the open one).
CREATE VIEW deadlined_expected_due AS
SELECT 'CLA-' || clar_cla_id AS case_ref, 'cla-review' AS rule,
       clar_cla_review_due_date AS due, 'clar:' || clar_cla_review_id AS event_ref
FROM ssd_dl_cla_reviews
WHERE clar_cla_review_due_date IS NOT NULL
UNION ALL
SELECT 'S47-' || icpc_s47_enquiry_id, 'icpc', icpc_icpc_target_date, 'icpc:' || icpc_icpc_id
FROM ssd_initial_cp_conference
WHERE icpc_s47_enquiry_id IS NOT NULL AND icpc_icpc_target_date IS NOT NULL
UNION ALL
SELECT 'CPP-' || cppr_cp_plan_id, 'cp-review-conference', cppr_cp_review_due,
       'cppr:' || cppr_cp_review_id
FROM ssd_cp_reviews
WHERE cppr_cp_plan_id IS NOT NULL AND cppr_cp_review_due IS NOT NULL;
