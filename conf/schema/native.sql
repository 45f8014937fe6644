-- native.sql - the case-database contract as plain SQLite tables.
--
-- deadlined reads exactly four relations (DESIGN.md, "The case-database
-- contract"). This file creates them as tables for the embedded default, the
-- demo data (tools/gen-demo.py) and the tests. A council that already has a
-- case-management database defines the same four names as views over its own
-- tables instead and does not run this file.
--
-- Deliberately permissive: no CHECK, NOT NULL or FOREIGN KEY constraints.
-- Impossible dates, NULL kinds, events before birth, unknown teams or
-- workers must be storable so the daemon can report them as data-quality
-- findings naming the case, instead of the load failing. Every value is TEXT
-- and is judged by the daemon, not by SQLite.
--
-- Dates are text: YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS] in local time.
--
-- Idempotent: safe to run against an existing database.
-- Run it whole (sqlite3 FILE < native.sql, or sqlite3_exec): the
-- change-log triggers at the end hold semicolons inside their bodies.

-- One row per episode: a referral, a child protection enquiry or plan, a
-- looked-after (CLA) episode, a missing episode, court proceedings, an EHC
-- request, a staff appraisal cycle.
CREATE TABLE IF NOT EXISTS deadlined_cases (
    case_ref      TEXT PRIMARY KEY,  -- the episode's reference, e.g. REF-2026-000123
    child_ref     TEXT,              -- the child (or staff member) it concerns, e.g. C000123, never a name
    date_of_birth TEXT,              -- YYYY-MM-DD, NULL when unknown or not a child, drives age-dependent durations
    team_ref      TEXT,              -- owning team (deadlined_teams.team_ref), NULL or unknown is a finding
    worker_ref    TEXT               -- allocated worker (deadlined_workers.worker_ref), NULL when unallocated
);

-- What happened on an episode and when. Rules start, meet and cancel their
-- clocks on these (event kinds are listed in DESIGN.md).
CREATE TABLE IF NOT EXISTS deadlined_events (
    event_id  INTEGER PRIMARY KEY,   -- row identity within this file, not part of the contract
    case_ref  TEXT,                  -- the episode (deadlined_cases.case_ref), unmatched refs are reported as orphans
    kind      TEXT,                  -- lower-case event kind, e.g. referral, cla_review
    occurred  TEXT,                  -- YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], local time
    event_ref TEXT                   -- the source system's id for the event, NULL when it has none
);

-- The daemon reads events case by case in time order.  The index covers
-- every column it reads, so the walk never jumps back into the table:
-- measured on 1M cases and 5M events, 1.2 s covering against 10.4 s with
-- (case_ref, occurred) alone.
CREATE INDEX IF NOT EXISTS deadlined_events_case_occurred
    ON deadlined_events (case_ref, occurred, kind, event_ref);

-- Teams own cases and receive the team-level alerts.
CREATE TABLE IF NOT EXISTS deadlined_teams (
    team_ref              TEXT PRIMARY KEY,  -- short code, e.g. CPN
    name                  TEXT,              -- display name, e.g. Child Protection North
    manager_email         TEXT,              -- team manager: overdue alerts
    service_manager_email TEXT               -- service manager: escalations, NULL when none
);

-- Workers are the first recipients of due-soon and overdue alerts.
CREATE TABLE IF NOT EXISTS deadlined_workers (
    worker_ref TEXT PRIMARY KEY,  -- e.g. W017
    name       TEXT,              -- display name used in alerts
    email      TEXT,              -- NULL when the worker has no address
    team_ref   TEXT               -- the worker's team (deadlined_teams.team_ref)
);

-- The change log: one row per case touched, so the daemon can re-evaluate
-- only what changed (it remembers the last seq it processed).  Filled by
-- the triggers below, never by the daemon, which cannot write here.  A
-- change to teams or workers logs a NULL case_ref, which means "everything"
-- and makes the next poll a full evaluation.  A writer may prune rows the
-- daemon has processed (deadlinectl status shows how far it has read);
-- pruning past that point makes the daemon evaluate in full once.
-- AUTOINCREMENT keeps seq growing even after pruning.
CREATE TABLE IF NOT EXISTS deadlined_changes (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_ref TEXT                   -- the case whose rows changed, NULL for all
);

CREATE TRIGGER IF NOT EXISTS deadlined_cases_ins AFTER INSERT ON deadlined_cases
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (NEW.case_ref);
END;
CREATE TRIGGER IF NOT EXISTS deadlined_cases_upd AFTER UPDATE ON deadlined_cases
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (OLD.case_ref);
  INSERT INTO deadlined_changes (case_ref) SELECT NEW.case_ref WHERE NEW.case_ref IS NOT OLD.case_ref;
END;
CREATE TRIGGER IF NOT EXISTS deadlined_cases_del AFTER DELETE ON deadlined_cases
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (OLD.case_ref);
END;
CREATE TRIGGER IF NOT EXISTS deadlined_events_ins AFTER INSERT ON deadlined_events
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (NEW.case_ref);
END;
CREATE TRIGGER IF NOT EXISTS deadlined_events_upd AFTER UPDATE ON deadlined_events
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (OLD.case_ref);
  INSERT INTO deadlined_changes (case_ref) SELECT NEW.case_ref WHERE NEW.case_ref IS NOT OLD.case_ref;
END;
CREATE TRIGGER IF NOT EXISTS deadlined_events_del AFTER DELETE ON deadlined_events
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (OLD.case_ref);
END;
CREATE TRIGGER IF NOT EXISTS deadlined_teams_chg AFTER UPDATE ON deadlined_teams
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (NULL);
END;
CREATE TRIGGER IF NOT EXISTS deadlined_teams_ins AFTER INSERT ON deadlined_teams
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (NULL);
END;
CREATE TRIGGER IF NOT EXISTS deadlined_teams_del AFTER DELETE ON deadlined_teams
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (NULL);
END;
CREATE TRIGGER IF NOT EXISTS deadlined_workers_chg AFTER UPDATE ON deadlined_workers
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (NULL);
END;
CREATE TRIGGER IF NOT EXISTS deadlined_workers_ins AFTER INSERT ON deadlined_workers
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (NULL);
END;
CREATE TRIGGER IF NOT EXISTS deadlined_workers_del AFTER DELETE ON deadlined_workers
BEGIN INSERT INTO deadlined_changes (case_ref) VALUES (NULL);
END;
