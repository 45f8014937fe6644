/* dl-outbox — test driver: one operation of the PostgreSQL store's fenced
 * outbox (state_pg.h) a run, so a test can prove the fence step by step
 * against a lease row it sets by hand.
 *
 * usage: dl-outbox CONNINFO COMMAND ARGS...
 *   version                        print "version N" (opening migrates)
 *   enqueue MSGID RECIPIENT NOW    print the new id
 *   claim LEASE EPOCH NOW MAX      print "claimed ID MSGID" a message, or "fenced"
 *   sent LEASE EPOCH ID DAY        print "sent" or "fenced"
 *   retry LEASE EPOCH ID NEXT      print "pending" or "fenced"
 *   count RECIPIENT DAY            print the day's count for the recipient
 *   list                           print "ID MSGID STATUS" a message
 * Exit 0 on success (fenced included), 1 on an error, 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/state_pg.h"

static int print_claim(void *ctx, const struct state_message *m)
{
	(void)ctx;
	printf("claimed %lld %s\n", (long long)m->id, m->msg_id);
	return 0;
}

static int print_row(void *ctx, const struct state_message *m)
{
	(void)ctx;
	printf("%lld %s %s\n", (long long)m->id, m->msg_id, m->status);
	return 0;
}

static int fenced_or(int rc, const char *word)
{
	if (rc == STATE_PG_FENCED)
		puts("fenced");
	else if (rc == 0 && word)
		puts(word);
	return rc;
}

static int command(struct state_pg *st, int argc, char **argv, struct dl_error *err)
{
	const char *cmd = argv[0];
	int64_t id;
	int n;

	if (argc >= 3 && strcmp(cmd, "enqueue") != 0 && strcmp(cmd, "count") != 0)
		state_pg_set_fence(st, argv[1], strtoll(argv[2], NULL, 10));
	if (!strcmp(cmd, "version") && argc == 1) {
		if (state_pg_version(st, &n, err) < 0)
			return -1;
		printf("version %d\n", n);
		return 0;
	}
	if (!strcmp(cmd, "enqueue") && argc == 4) {
		struct state_message m = { .msg_id = argv[1], .receiver = "r",
					   .recipient = argv[2], .kind = "overdue",
					   .subject = "s", .text = "t",
					   .created = strtoll(argv[3], NULL, 10) };

		if (state_pg_enqueue(st, &m, &id, err) < 0)
			return -1;
		printf("%lld\n", (long long)id);
		return 0;
	}
	if (!strcmp(cmd, "claim") && argc == 5)
		return fenced_or(state_pg_claim_due(st, strtoll(argv[3], NULL, 10), atoi(argv[4]),
						    print_claim, NULL, err), NULL);
	if (!strcmp(cmd, "sent") && argc == 5)
		return fenced_or(state_pg_mark_sent(st, strtoll(argv[3], NULL, 10), 1, 1, "ok",
						    argv[4], err), "sent");
	if (!strcmp(cmd, "retry") && argc == 5)
		return fenced_or(state_pg_mark_message(st, strtoll(argv[3], NULL, 10), "pending",
						       1, strtoll(argv[4], NULL, 10), "503",
						       err), "pending");
	if (!strcmp(cmd, "count") && argc == 3) {
		if (state_pg_count_sent(st, argv[1], argv[2], &n, err) < 0)
			return -1;
		printf("%d\n", n);
		return 0;
	}
	if (!strcmp(cmd, "list") && argc == 1)
		return state_pg_each_message(st, NULL, print_row, NULL, err);
	return -2;
}

int main(int argc, char **argv)
{
	struct pgconn_settings s = { .application_name = "dl-outbox", .connect_ms = 5000,
				     .statement_ms = 5000, .keepalive_ms = 10000 };
	struct dl_error err = { "" };
	struct state_pg *st;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: dl-outbox CONNINFO COMMAND ARGS...\n");
		return 2;
	}
	s.conninfo = argv[1];
	if (state_pg_open(&s, &st, &err) < 0) {
		fprintf(stderr, "dl-outbox: %s\n", err.msg);
		return 1;
	}
	rc = command(st, argc - 2, argv + 2, &err);
	state_pg_close(st);
	if (rc == -2)
		fprintf(stderr, "dl-outbox: unknown command or wrong arguments: %s\n", argv[2]);
	else if (rc < 0)
		fprintf(stderr, "dl-outbox: %s\n", err.msg);
	return rc == -2 ? 2 : rc < 0 ? 1 : 0;
}
