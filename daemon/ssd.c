/* ssd.c — Standard Safeguarding Dataset CSV extracts into SQLite, see ssd.h.
 *
 * One transaction into a temporary file beside the target, then fsync and
 * rename(2): the target is either the old file or the complete new one.
 */
#include "deadlined/ssd.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/date.h"
#include "deadlined/vec.h"

/* conf/schema/ssd-views.sql, compiled in by the Makefile. */
static const char VIEWS_SQL[] = {
#include "ssd_views.inc"
	0
};

/* The tables the views read, with the columns of reference/ssd-columns.txt,
 * and the tables a council supplies beside the extract (docs/SSD.md). */
static const struct {
	const char *name, *columns;    /* columns separated by spaces */
} standard[] = {
	{ "ssd_care_leavers",
	  "clea_care_leaver_accom_suitable clea_care_leaver_accommodation "
	  "clea_care_leaver_activity clea_care_leaver_allocated_team "
	  "clea_care_leaver_eligibility clea_care_leaver_in_touch "
	  "clea_care_leaver_latest_contact clea_care_leaver_personal_advisor "
	  "clea_care_leaver_worker_id clea_pathway_plan_review_date clea_person_id "
	  "clea_table_id" },
	{ "ssd_cin_assessments",
	  "cina_assessment_auth_date cina_assessment_child_seen cina_assessment_id "
	  "cina_assessment_outcome_nfa cina_assessment_start_date cina_assessment_team "
	  "cina_assessment_worker_id cina_person_id cina_referral_id" },
	{ "ssd_cin_episodes",
	  "cine_cin_primary_need_code cine_close_date cine_close_reason cine_person_id "
	  "cine_referral_date cine_referral_id cine_referral_nfa "
	  "cine_referral_source_code cine_referral_source_desc cine_referral_team "
	  "cine_referral_worker_id" },
	{ "ssd_cin_visits",
	  "cinv_cin_visit_bedroom cinv_cin_visit_date cinv_cin_visit_id "
	  "cinv_cin_visit_seen cinv_cin_visit_seen_alone" },
	{ "ssd_cla_care_plan",
	  "lacp_cla_care_plan_end_date lacp_cla_care_plan_start_date lacp_person_id" },
	{ "ssd_cla_episodes",
	  "clae_cla_episode_ceased_date clae_cla_episode_ceased_reason "
	  "clae_cla_episode_id clae_cla_episode_start_date clae_cla_episode_start_reason "
	  "clae_cla_id clae_cla_last_iro_contact_date clae_cla_placement_id "
	  "clae_cla_primary_need_code clae_entered_care_date clae_person_id "
	  "clae_referral_id" },
	{ "ssd_cla_health",
	  "clah_health_check_date clah_health_check_id clah_health_check_status "
	  "clah_health_check_type clah_person_id" },
	{ "ssd_cla_reviews",
	  "clar_cla_id clar_cla_review_cancelled clar_cla_review_date "
	  "clar_cla_review_due_date clar_cla_review_id clar_cla_review_participation" },
	{ "ssd_cla_visits",
	  "clav_cla_id clav_cla_visit_date clav_cla_visit_id clav_cla_visit_seen "
	  "clav_cla_visit_seen_alone clav_person_id" },
	{ "ssd_cp_plans",
	  "cppl_cp_plan_end_date cppl_cp_plan_id cppl_cp_plan_initial_category "
	  "cppl_cp_plan_latest_category cppl_cp_plan_start_date cppl_icpc_id "
	  "cppl_person_id cppl_referral_id" },
	{ "ssd_cp_reviews",
	  "cppr_cp_plan_id cppr_cp_review_date cppr_cp_review_due cppr_cp_review_id "
	  "cppr_cp_review_outcome_continue_cp cppr_cp_review_participation "
	  "cppr_cp_review_quorate" },
	{ "ssd_cp_visits",
	  "cppv_cp_plan_id cppv_cp_visit_bedroom cppv_cp_visit_date cppv_cp_visit_id "
	  "cppv_cp_visit_seen cppv_cp_visit_seen_alone" },
	{ "ssd_department",
	  "dept_team_id dept_team_name dept_team_parent_id dept_team_parent_name" },
	{ "ssd_initial_cp_conference",
	  "icpc_cp_plan_id icpc_icpc_date icpc_icpc_id icpc_icpc_meeting_id "
	  "icpc_icpc_outcome_cp_flag icpc_icpc_target_date icpc_icpc_team "
	  "icpc_icpc_transfer_in icpc_icpc_worker_id icpc_person_id icpc_referral_id "
	  "icpc_s47_enquiry_id" },
	{ "ssd_involvements",
	  "invo_involvement_end_date invo_involvement_start_date invo_involvements_id "
	  "invo_professional_id invo_professional_role_id invo_professional_team "
	  "invo_referral_id invo_worker_change_reason" },
	{ "ssd_missing",
	  "miss_missing_episode_end_date miss_missing_episode_start_date "
	  "miss_missing_episode_type miss_missing_rhi_accepted miss_missing_rhi_offered "
	  "miss_person_id miss_table_id" },
	{ "ssd_person",
	  "pers_death_date pers_dob pers_ethnicity pers_expected_dob pers_gender "
	  "pers_is_mother pers_legacy_id pers_nationality pers_person_id pers_send_flag "
	  "pers_sex pers_single_unique_id pers_upn pers_upn_unknown" },
	{ "ssd_pre_proceedings",
	  "prep_agree_stepdown_issue_date prep_care_pro_letter_date "
	  "prep_care_proc_court_hearings prep_care_proc_short_notice prep_court_reference "
	  "prep_cp_plans_referral_period prep_initial_pre_pro_meeting_date "
	  "prep_la_final_care_plan prep_la_final_plan_approved "
	  "prep_la_inital_plan_approved prep_la_initial_care_plan "
	  "prep_legal_gateway_outcome prep_parents_legal_rep_point_of_issue "
	  "prep_person_id prep_plo_family_id prep_pre_pro_decision_date "
	  "prep_pre_pro_letter_date prep_pre_pro_meetings_num prep_pre_pro_outcome "
	  "prep_pre_pro_parents_legal_rep prep_prev_care_proc_child "
	  "prep_prev_pre_proc_child prep_proc_short_notice_reason prep_table_id" },
	{ "ssd_professionals",
	  "prof_agency_worker_flag prof_full_time_equivalency prof_professional_caseload "
	  "prof_professional_department prof_professional_id prof_professional_job_title "
	  "prof_social_worker_registration_no prof_staff_id" },
	{ "ssd_s47_enquiry",
	  "s47e_person_id s47e_referral_id s47e_s47_completed_by_team "
	  "s47e_s47_completed_by_worker_id s47e_s47_end_date s47e_s47_enquiry_id "
	  "s47e_s47_nfa s47e_s47_start_date" },
	{ "deadlined_team_contacts",
	  "team_ref name manager_email service_manager_email" },
	{ "deadlined_worker_contacts",
	  "worker_ref name email" },
	{ "deadlined_extra_events",
	  "case_ref kind occurred event_ref" },
};

#define NSTANDARD (sizeof standard / sizeof standard[0])

bool ssd_is_date_column(const char *name)
{
	static const char *const suffix[] = { "_date", "_dob", "_due" };
	size_t n = strlen(name);

	if (strcasecmp(name, "occurred") == 0)      /* deadlined_extra_events */
		return true;
	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		size_t k = strlen(suffix[i]);

		if (n > k && strcasecmp(name + n - k, suffix[i]) == 0)
			return true;
	}
	return false;
}

/* Exactly ndigits digits at *p (advanced); -1 otherwise. */
static int digits(const char **p, int ndigits)
{
	int v = 0;

	for (int i = 0; i < ndigits; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

/* HH:MM[:SS[.fraction]] at p, to the end of the text. */
static int parse_time(const char *p, int *h, int *m, int *s)
{
	*s = 0;
	if ((*h = digits(&p, 2)) < 0 || *p++ != ':' || (*m = digits(&p, 2)) < 0)
		return -1;
	if (*p == ':') {
		p++;
		if ((*s = digits(&p, 2)) < 0)
			return -1;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			while (isdigit((unsigned char)*p))
				p++;
		}
	}
	return *p == '\0' && *h < 24 && *m < 60 && *s < 60 ? 0 : -1;
}

int ssd_normalize_date(const char *text, char *out)
{
	const char *p = text;
	int y, mo, d, h = 0, mi = 0, s = 0;
	bool timed = false;
	dl_day day;

	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) && p[2] == '/') {
		if ((d = digits(&p, 2)) < 0 || *p++ != '/' || (mo = digits(&p, 2)) < 0 ||
		    *p++ != '/' || (y = digits(&p, 4)) < 0)
			return -1;
	} else if ((y = digits(&p, 4)) < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 0 ||
		   *p++ != '-' || (d = digits(&p, 2)) < 0) {
		return -1;
	}
	if (*p == 'T' || *p == ' ') {
		if (parse_time(p + 1, &h, &mi, &s) < 0)
			return -1;
		timed = h || mi || s;
	} else if (*p != '\0') {
		return -1;
	}
	if (!date_from_ymd(y, mo, d, &day) || y < 1)
		return -1;
	if (!timed)
		snprintf(out, DATE_MOMENT_BUF, "%04d-%02d-%02d", y, mo, d);
	else if (s)
		snprintf(out, DATE_MOMENT_BUF, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, s);
	else
		snprintf(out, DATE_MOMENT_BUF, "%04d-%02d-%02dT%02d:%02d", y, mo, d, h, mi);
	return 0;
}

static void notef(ssd_note_fn note, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void notef(ssd_note_fn note, void *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	note(ctx, msg);
}

static int db_fail(sqlite3 *db, struct dl_error *err, const char *what)
{
	error_set(err, "%s: %s", what, sqlite3_errmsg(db));
	return -1;
}

/* A name SQLite can take unquoted and we can print: [A-Za-z_][A-Za-z0-9_]*. */
static bool plain_name(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

struct text {
	char *s;
	size_t n, cap;
};

static int append(struct text *t, const char *s)
{
	size_t k = strlen(s);

	if (vec_reserve((void **)&t->s, &t->cap, t->n + k, 1) < 0)
		return -1;
	memcpy(t->s + t->n, s, k + 1);
	t->n += k;
	return 0;
}

/* The header: each name a plain name, none twice (SQLite's names ignore
 * case).  Surrounding spaces are dropped in place. */
static int check_header(struct csv_record *h, const char *label, ssd_note_fn note,
			void *ctx)
{
	for (size_t i = 0; i < h->n; i++) {
		char *f = h->field[i];
		size_t n = strlen(f);

		while (n && f[n - 1] == ' ')
			f[--n] = '\0';
		while (*f == ' ')
			f++;
		h->field[i] = f;
		if (!plain_name(f)) {
			notef(note, ctx, "%s:%ld: column %zu of the header, '%.60s', is not a "
			      "column name; expected letters, digits and _ (file not loaded)",
			      label, h->line, i + 1, f);
			return -1;
		}
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(h->field[k], f) == 0) {
				notef(note, ctx, "%s:%ld: column '%s' appears twice in the header "
				      "(file not loaded)", label, h->line, f);
				return -1;
			}
	}
	return 0;
}

/* CREATE TABLE name (c1 TEXT, ...) and its INSERT statement. */
static int create_table(sqlite3 *db, const char *table, const struct csv_record *h,
			sqlite3_stmt **ins, struct dl_error *err)
{
	struct text create = { 0 }, insert = { 0 };
	int rc = -1;

	if (append(&create, "CREATE TABLE \"") < 0 || append(&create, table) < 0 ||
	    append(&create, "\" (") < 0 || append(&insert, "INSERT INTO \"") < 0 ||
	    append(&insert, table) < 0 || append(&insert, "\" VALUES (") < 0)
		goto oom;
	for (size_t i = 0; i < h->n; i++)
		if (append(&create, i ? ", \"" : "\"") < 0 ||
		    append(&create, h->field[i]) < 0 || append(&create, "\" TEXT") < 0 ||
		    append(&insert, i ? ", ?" : "?") < 0)
			goto oom;
	if (append(&create, ")") < 0 || append(&insert, ")") < 0)
		goto oom;
	if (sqlite3_exec(db, create.s, NULL, NULL, NULL) != SQLITE_OK)
		db_fail(db, err, table);
	else if (sqlite3_prepare_v2(db, insert.s, -1, ins, NULL) != SQLITE_OK)
		db_fail(db, err, table);
	else
		rc = 0;
	free(create.s);
	free(insert.s);
	return rc;
oom:
	free(create.s);
	free(insert.s);
	error_set(err, "%s: out of memory", table);
	return -1;
}

struct load {
	const char *label;
	ssd_note_fn note;
	void *ctx;
	long bad;                    /* in this file */
};

static void bad_row(struct load *l, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void bad_row(struct load *l, long line, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	if (++l->bad > SSD_MAX_LISTED)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	notef(l->note, l->ctx, "%s:%ld: %s", l->label, line, msg);
}

/* Bind one record's fields; 1 when a date column holds no date. */
static int bind_row(struct load *l, sqlite3_stmt *ins, const struct csv_record *h,
		    const bool *is_date, const struct csv_record *rec)
{
	for (size_t i = 0; i < rec->n; i++) {
		const char *v = rec->field[i];
		char day[DATE_MOMENT_BUF];

		if (rec->len[i] == 0 || (!rec->quoted[i] && strcmp(v, "NULL") == 0)) {
			sqlite3_bind_null(ins, (int)i + 1);
			continue;
		}
		if (is_date[i]) {
			if (ssd_normalize_date(v, day) < 0) {
				char shown[41];

				/* One line: control characters of the value shown as '?'. */
				snprintf(shown, sizeof shown, "%s", v);
				for (char *c = shown; *c; c++)
					if ((unsigned char)*c < 0x20 || *c == 0x7f)
						*c = '?';
				bad_row(l, rec->line, "column %s: '%s' is not a date; expected "
					"YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] or DD/MM/YYYY",
					h->field[i], shown);
				return 1;
			}
			v = day;
		}
		if (sqlite3_bind_text(ins, (int)i + 1, v, -1, SQLITE_TRANSIENT) != SQLITE_OK)
			return -1;
	}
	return 0;
}

int ssd_load_table(sqlite3 *db, const char *table, const char *label,
		   struct csv_reader *r, ssd_note_fn note, void *ctx,
		   struct ssd_summary *sum, struct dl_error *err)
{
	struct load l = { .label = label, .note = note, .ctx = ctx };
	struct csv_record rec, h = { 0 };
	char **names = NULL;
	bool *is_date = NULL;
	sqlite3_stmt *ins = NULL;
	struct dl_error e;
	int rc;

	/* The header first: without it there is no table. */
	if ((rc = csv_next(r, &rec, &e)) == CSV_BAD) {
		bad_row(&l, rec.line, "%s (in the header)", e.msg);
		goto done;
	}
	if (rc == CSV_FAIL) {
		error_set(err, "%s: %s", label, e.msg);
		return -1;
	}
	if (rc == CSV_EOF) {
		bad_row(&l, 1, "the file is empty; expected a header line naming the columns");
		goto done;
	}
	if (check_header(&rec, label, note, ctx) < 0) {
		l.bad++;
		goto done;
	}
	/* The reader reuses its buffers: keep the names. */
	h.n = rec.n;
	h.line = rec.line;
	if (!(names = calloc(rec.n, sizeof *names)) || !(is_date = calloc(rec.n, 1)))
		goto oom;
	for (size_t i = 0; i < rec.n; i++) {
		if (!(names[i] = strdup(rec.field[i])))
			goto oom;
		is_date[i] = ssd_is_date_column(names[i]);
	}
	h.field = names;
	if (create_table(db, table, &h, &ins, err) < 0) {
		rc = -1;
		goto out;
	}
	while ((rc = csv_next(r, &rec, &e)) != CSV_EOF) {
		int b;

		if (rc == CSV_FAIL) {
			error_set(err, "%s: %s", label, e.msg);
			rc = -1;
			goto out;
		}
		if (rc == CSV_BAD) {
			bad_row(&l, rec.line, "%s", e.msg);
			continue;
		}
		if (rec.n != h.n) {
			bad_row(&l, rec.line, "%zu field%s; expected %zu as in the header", rec.n,
				rec.n == 1 ? "" : "s", h.n);
			continue;
		}
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		if ((b = bind_row(&l, ins, &h, is_date, &rec)) < 0)
			goto oom;
		if (b > 0)
			continue;
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = db_fail(db, err, label);
			goto out;
		}
		sum->rows++;
	}
done:
	if (l.bad > SSD_MAX_LISTED)
		notef(note, ctx, "%s: %ld more bad rows not listed", label,
		      l.bad - SSD_MAX_LISTED);
	rc = 0;
	goto out;
oom:
	error_set(err, "%s: out of memory", label);
	rc = -1;
out:
	sum->bad_rows += l.bad;
	sqlite3_finalize(ins);
	for (size_t i = 0; names && i < h.n; i++)
		free(names[i]);
	free(names);
	free(is_date);
	return rc;
}

/* 1 when the query with ?1 = a and ?2 = b returns a row, 0 when not, -1 on
 * a database error. */
static int exists(sqlite3 *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static const char SQL_HAS_TABLE[] =
	"SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE";
static const char SQL_HAS_COLUMN[] =
	"SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2 COLLATE NOCASE";

/* Standard table i: create it whole, or add the standard columns it lacks. */
static int complete_table(sqlite3 *db, size_t i, struct dl_error *err)
{
	const char *table = standard[i].name, *p = standard[i].columns;
	char sql[2048], *at = sql;
	int rc = exists(db, SQL_HAS_TABLE, table, NULL);

	if (rc == 0) {
		at += snprintf(at, sizeof sql, "CREATE TABLE \"%s\" (", table);
		while (*p) {
			size_t n = strcspn(p, " ");

			at += snprintf(at, sizeof sql - (size_t)(at - sql), "%s\"%.*s\" TEXT",
				       p == standard[i].columns ? "" : ", ", (int)n, p);
			p += n + (p[n] == ' ');
		}
		snprintf(at, sizeof sql - (size_t)(at - sql), ")");
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
		p = "";
	}
	while (rc >= 0 && *p) {
		size_t n = strcspn(p, " ");
		char column[64];

		snprintf(column, sizeof column, "%.*s", (int)n, p);
		p += n + (p[n] == ' ');
		if ((rc = exists(db, SQL_HAS_COLUMN, table, column)) != 0)
			continue;
		snprintf(sql, sizeof sql, "ALTER TABLE \"%s\" ADD COLUMN \"%s\" TEXT", table, column);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	}
	return rc < 0 ? db_fail(db, err, table) : 0;
}

int ssd_install_views(sqlite3 *db, struct dl_error *err)
{
	for (size_t i = 0; i < NSTANDARD; i++)
		if (complete_table(db, i, err) < 0)
			return -1;
	if (sqlite3_exec(db, VIEWS_SQL, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, err, "installing the views of ssd-views.sql");
	return 0;
}

/* NAME.csv (any case) with NAME a plain name: the table, lower-cased. */
static bool table_name(const char *file, char *table, size_t size)
{
	size_t n = strlen(file);

	if (n <= 4 || n - 4 >= size || strcasecmp(file + n - 4, ".csv") != 0)
		return false;
	for (size_t i = 0; i < n - 4; i++)
		table[i] = (char)tolower((unsigned char)file[i]);
	table[n - 4] = '\0';
	if (!plain_name(table) || strncmp(table, "sqlite_", 7) == 0)
		return false;
	/* deadlined_* names are the views', but for the tables we read. */
	if (strncmp(table, "deadlined_", 10) != 0)
		return true;
	for (size_t i = 0; i < NSTANDARD; i++)
		if (strcmp(table, standard[i].name) == 0)
			return true;
	return false;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The CSV files of dir, sorted (free each and the array). */
static int list_csv(const char *dir, char ***out, size_t *n, struct dl_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!d) {
		error_set(err, "%s: %s; expected a folder of SSD CSV files", dir, strerror(errno));
		return SSD_BAD_INPUT;
	}
	while ((e = readdir(d))) {
		size_t k = strlen(e->d_name);

		if (k <= 4 || strcasecmp(e->d_name + k - 4, ".csv") != 0)
			continue;
		if (vec_reserve((void **)out, &cap, *n, sizeof **out) < 0 ||
		    !((*out)[*n] = strdup(e->d_name))) {
			closedir(d);
			error_set(err, "%s: out of memory", dir);
			return SSD_FAILED;
		}
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof **out, cmp_names);
	return SSD_OK;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Load every CSV of dir into db, one table each. */
static int load_folder(sqlite3 *db, const char *dir, ssd_note_fn note, void *ctx,
		       struct ssd_summary *sum, struct dl_error *err)
{
	char **files, path[4096], table[256];
	size_t n;
	int rc = list_csv(dir, &files, &n, err);

	for (size_t i = 0; rc == SSD_OK && i < n; i++) {
		struct csv_reader *r;

		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		if (!table_name(files[i], table, sizeof table)) {
			notef(note, ctx, "%s: not loaded: expected TABLE.csv with TABLE of "
			      "letters, digits and _ (e.g. ssd_person.csv), not sqlite_* nor a "
			      "view's name", path);
			sum->bad_rows++;
			continue;
		}
		if (exists(db, SQL_HAS_TABLE, table, NULL) > 0) {
			notef(note, ctx, "%s: not loaded: another file already gave table %s",
			      path, table);
			sum->bad_rows++;
			continue;
		}
		if (csv_open_file(path, &r, err) < 0) {
			rc = SSD_BAD_INPUT;
			break;
		}
		if (ssd_load_table(db, table, path, r, note, ctx, sum, err) < 0)
			rc = SSD_FAILED;
		else if (exists(db, SQL_HAS_TABLE, table, NULL) > 0)
			sum->files++;     /* its header made a table */
		csv_close(r);
	}
	free_list(files, n);
	return rc;
}

/* The new file takes the old one's mode and group; 0640 the first time. */
static int copy_access(int fd, const char *db_path, ssd_note_fn note, void *ctx,
		       struct dl_error *err)
{
	struct stat st;
	mode_t mode = 0640;

	if (stat(db_path, &st) == 0) {
		mode = st.st_mode & 07777;
		/* Keeping the group is refused to a non-member: then the mode
		 * alone is kept, as cp(1) does, and the user is told, since
		 * the daemon may read the file through that group. */
		if (fchown(fd, (uid_t)-1, st.st_gid) < 0) {
			if (errno != EPERM)
				goto fail;
			notef(note, ctx, "warning: %s: cannot keep its group (gid %u: %s), so the "
			      "new file has yours; readers through that group lose access "
			      "(run the import as a member of the group)", db_path,
			      (unsigned)st.st_gid, strerror(errno));
		}
	}
	if (fchmod(fd, mode) == 0)
		return 0;
fail:
	error_set(err, "%s: setting permissions: %s", db_path, strerror(errno));
	return -1;
}

/* fsync a file or a folder by name. */
static int sync_path(const char *path, int flags, struct dl_error *err)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		error_set(err, "%s: sync: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int fill_db(const char *tmp, const char *dir, ssd_note_fn note, void *ctx,
		   struct ssd_summary *sum, struct dl_error *err)
{
	sqlite3 *db = NULL;
	int rc = SSD_FAILED;

	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		error_set(err, "%s: %s", tmp, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return SSD_FAILED;
	}
	/* Nobody else sees this file until the rename, which comes after an
	 * fsync of our own: SQLite's journal and syncs would only slow it. */
	if (sqlite3_exec(db, "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; "
			 "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, err, tmp);
		goto out;
	}
	rc = load_folder(db, dir, note, ctx, sum, err);
	if (rc == SSD_OK && ssd_install_views(db, err) < 0)
		rc = SSD_FAILED;
	if (rc == SSD_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_fail(db, err, tmp);
out:
	if (sqlite3_close(db) != SQLITE_OK && rc == SSD_OK)
		rc = db_fail(db, err, tmp);
	return rc;
}

int ssd_import(const char *dir, const char *db_path, bool allow_bad_rows,
	       ssd_note_fn note, void *ctx, struct ssd_summary *sum, struct dl_error *err)
{
	char tmp[4096], *slash, parent[4096];
	struct stat st;
	int fd, rc;

	memset(sum, 0, sizeof *sum);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		error_set(err, "%s: %s; expected a folder of SSD CSV files", dir,
			  access(dir, F_OK) < 0 ? strerror(errno) : "not a folder");
		return SSD_BAD_INPUT;
	}
	if (snprintf(tmp, sizeof tmp, "%s.import-XXXXXX", db_path) >= (int)sizeof tmp) {
		error_set(err, "%s: the name is too long", db_path);
		return SSD_BAD_INPUT;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		error_set(err, "%s: creating a temporary file beside it: %s", db_path,
			  strerror(errno));
		return SSD_FAILED;
	}
	rc = copy_access(fd, db_path, note, ctx, err) < 0 ? SSD_FAILED : SSD_OK;
	close(fd);
	if (rc == SSD_OK)
		rc = fill_db(tmp, dir, note, ctx, sum, err);
	if (rc == SSD_OK && sum->bad_rows && !allow_bad_rows) {
		error_set(err, "%ld bad row%s: nothing imported, %s is unchanged (fix the "
			  "files, or import the good rows with --allow-bad-rows)", sum->bad_rows,
			  sum->bad_rows == 1 ? "" : "s", db_path);
		rc = SSD_BAD_INPUT;
	}
	if (rc == SSD_OK && sync_path(tmp, O_RDONLY, err) < 0)
		rc = SSD_FAILED;
	if (rc == SSD_OK && rename(tmp, db_path) < 0) {
		error_set(err, "%s: replacing it: %s", db_path, strerror(errno));
		rc = SSD_FAILED;
	}
	if (rc != SSD_OK) {
		unlink(tmp);
		return rc;
	}
	/* Make the rename itself durable. */
	snprintf(parent, sizeof parent, "%s", db_path);
	slash = strrchr(parent, '/');
	if (slash)
		*(slash == parent ? slash + 1 : slash) = '\0';
	return sync_path(slash ? parent : ".", O_RDONLY | O_DIRECTORY, err) < 0 ? SSD_FAILED
										: SSD_OK;
}
