/* dl-outbox — test driver: one operation of the PostgreSQL store's fenced
 * outbox (state.h through state_pg.c) a run, so a test can prove the fence
 * step by step against a lease row it sets by hand.
 *
 * usage: dl-outbox CONNINFO COMMAND ARGS...
 *   open                             open (making or migrating the schema)
 *   enqueue MSGID RECIPIENT NOW      print the new id
 *   claim LEASE EPOCH NOW MAX        print "claimed ID MSGID" a message, or "fenced"
 *   sent LEASE EPOCH ID RECIPIENT DAY   count and mark sent: "sent" or "fenced"
 *   retry LEASE EPOCH ID NEXT        print "pending" or "fenced"
 *   count RECIPIENT DAY              print the day's count for the recipient
 *   list                             print "ID MSGID STATUS" a message
 * Exit 0 on success (fenced included), 1 on an error, 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/state.h"

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

/* A refusal by the fence is an answer, not an error. */
static int fenced_or(int rc, const struct dl_error *err, const char *word)
{
	if (rc < 0 && !strncmp(err->msg, STATE_FENCED_PREFIX, strlen(STATE_FENCED_PREFIX))) {
		puts("fenced");
		return 0;
	}
	if (rc == 0 && word)
		puts(word);
	return rc;
}

static int command(struct state *st, int argc, char **argv, struct dl_error *err)
{
	const char *cmd = argv[0];
	int64_t id;
	int n;

	if (argc >= 3 && strcmp(cmd, "enqueue") != 0 && strcmp(cmd, "count") != 0)
		state_set_fence(st, argv[1], strtoll(argv[2], NULL, 10));
	if (!strcmp(cmd, "open") && argc == 1)
		return 0;
	if (!strcmp(cmd, "enqueue") && argc == 4) {
		struct state_message m = { .msg_id = argv[1], .receiver = "r",
					   .recipient = argv[2], .kind = "overdue",
					   .subject = "s", .text = "t",
					   .created = strtoll(argv[3], NULL, 10),
					   .next_attempt = strtoll(argv[3], NULL, 10) };

		if (state_enqueue(st, &m, &id, err) < 0)
			return -1;
		printf("%lld\n", (long long)id);
		return 0;
	}
	if (!strcmp(cmd, "claim") && argc == 5)
		return fenced_or(state_each_due(st, strtoll(argv[3], NULL, 10), atoi(argv[4]),
						print_claim, NULL, err), err, NULL);
	if (!strcmp(cmd, "sent") && argc == 6) {
		if (state_add_sent(st, argv[4], argv[5], err) < 0)
			return -1;
		return fenced_or(state_mark_message(st, strtoll(argv[3], NULL, 10), "sent", 1, 1,
						    "ok", 1, err), err, "sent");
	}
	if (!strcmp(cmd, "retry") && argc == 5)
		return fenced_or(state_mark_message(st, strtoll(argv[3], NULL, 10), "pending", 1,
						    strtoll(argv[4], NULL, 10), "503", 0, err),
				 err, "pending");
	if (!strcmp(cmd, "count") && argc == 3) {
		if (state_count_sent(st, argv[1], argv[2], &n, err) < 0)
			return -1;
		printf("%d\n", n);
		return 0;
	}
	if (!strcmp(cmd, "list") && argc == 1)
		return state_each_message(st, NULL, print_row, NULL, err);
	return -2;
}

int main(int argc, char **argv)
{
	struct state_conf conf = { .driver = "postgresql" };
	struct dl_error err = { "" };
	struct state *st;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: dl-outbox CONNINFO COMMAND ARGS...\n");
		return 2;
	}
	conf.conninfo = argv[1];
	if (state_open(&conf, &st, &err) < 0) {
		fprintf(stderr, "dl-outbox: %s\n", err.msg);
		return 1;
	}
	rc = command(st, argc - 2, argv + 2, &err);
	state_close(st);
	if (rc == -2)
		fprintf(stderr, "dl-outbox: unknown command or wrong arguments: %s\n", argv[2]);
	else if (rc < 0)
		fprintf(stderr, "dl-outbox: %s\n", err.msg);
	return rc == -2 ? 2 : rc < 0 ? 1 : 0;
}
