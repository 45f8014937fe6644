/* test_receiver.c — reading secrets: from a file or a systemd credential,
 * and a file that other users may read (or write) refused with the fix;
 * receivers opened through their type's operations table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/receiver.h"
#include "testutil.h"

struct dir {
	char path[4096];
	char file[4200];
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof *d);

	if (!d)
		return -1;
	if (test_tmpdir(d->path, sizeof d->path, "dl-receiver") < 0) {
		free(d);
		return -1;
	}
	snprintf(d->file, sizeof d->file, "%s/secret", d->path);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;

	unlink(d->file);
	rmdir(d->path);
	free(d);
	unsetenv("CREDENTIALS_DIRECTORY");
	return 0;
}

/* Write text to the test's file and give it mode. */
static void write_secret(const struct dir *d, const char *text, mode_t mode)
{
	FILE *f = fopen(d->file, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(d->file, mode), 0);
}

static void test_private_file(void **state)
{
	const mode_t ok[] = { 0600, 0400, 0640, 0660, 0440 };
	struct dir *d = *state;
	struct dl_error err;
	char *secret;

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		write_secret(d, "s3cret\n", ok[i]);
		assert_int_equal(receiver_read_secret(d->file, NULL, &secret, &err), 0);
		assert_string_equal(secret, "s3cret");
		free(secret);
	}
}

static void test_open_to_others(void **state)
{
	const mode_t refused[] = { 0644, 0604, 0602, 0601, 0666, 0777, 0647 };
	struct dir *d = *state;
	struct dl_error err;
	char *secret = (char *)"unchanged";

	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char mode[16];

		write_secret(d, "s3cret\n", refused[i]);
		assert_int_equal(receiver_read_secret(d->file, NULL, &secret, &err), -1);
		assert_null(secret);
		/* Names the file, the mode and the fix; never the content. */
		assert_non_null(strstr(err.msg, d->file));
		snprintf(mode, sizeof mode, "mode %04o", (unsigned)refused[i]);
		assert_non_null(strstr(err.msg, mode));
		assert_non_null(strstr(err.msg, "chmod 600"));
		assert_non_null(strstr(err.msg, "chmod 640"));
		assert_null(strstr(err.msg, "s3cret"));
	}
}

/* systemd manages credentials; their mode is not ours to judge. */
static void test_credential_exempt(void **state)
{
	struct dir *d = *state;
	struct dl_error err;
	char *secret;

	write_secret(d, "from-systemd\n", 0644);
	setenv("CREDENTIALS_DIRECTORY", d->path, 1);
	assert_int_equal(receiver_read_secret(NULL, "secret", &secret, &err), 0);
	assert_string_equal(secret, "from-systemd");
	free(secret);
	/* The same file named as a file is judged like any other. */
	assert_int_equal(receiver_read_secret(d->file, NULL, &secret, &err), -1);
	assert_non_null(strstr(err.msg, "chmod 600"));
}

static void test_missing_and_empty(void **state)
{
	struct dir *d = *state;
	struct dl_error err;
	char *secret;

	assert_int_equal(receiver_read_secret(d->file, NULL, &secret, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	write_secret(d, "\n", 0600);
	assert_int_equal(receiver_read_secret(d->file, NULL, &secret, &err), -1);
	assert_non_null(strstr(err.msg, "empty"));
	/* Neither a file nor a credential: no secret, and no error. */
	assert_int_equal(receiver_read_secret(NULL, NULL, &secret, &err), 0);
	assert_null(secret);
}

/* The type picks the backend: a message sent to a maildir receiver lands in
 * its new/ folder; each backend's own checks and secrets come through
 * receiver_open with the receiver's name; an unknown type is refused. */
static void test_dispatch(void **state)
{
	struct dir *d = *state;
	char box[4300], fresh[4400];
	struct receiver_conf mc = { .name = "box", .type = "maildir", .path = box,
				    .from = "deadlines@council.example" };
	struct receiver_conf sc = { .name = "mail", .type = "smtp",
				    .url = "smtp://127.0.0.1:1", .from = "deadlines@council.example",
				    .username = "u" };
	struct receiver_conf wc = { .name = "hook", .type = "webhook",
				    .url = "https://127.0.0.1:1/x", .secret_file = d->file,
				    .max_connections = 1, .timeout = 1, .connect_timeout = 1 };
	struct receiver_conf xc = { .name = "pager", .type = "pager" };
	struct message m = { .id = 1, .msg_id = "m1@x", .to = "w@council.example",
			     .subject = "Due", .text = "text", .html = "<p>html</p>",
			     .created = 1700000000 };
	struct delivery_result res = { .status = DELIVERY_PERMANENT };
	struct receiver *r = (struct receiver *)1;
	struct dl_error err;

	snprintf(box, sizeof box, "%s/Maildir", d->path);
	snprintf(fresh, sizeof fresh, "%s/new", box);
	assert_int_equal(receiver_open(&mc, &r, &err), 0);
	assert_ptr_equal(receiver_conf(r), &mc);
	receiver_send(r, &m, 1, &res);
	receiver_close(r);
	assert_int_equal(res.status, DELIVERY_OK);
	assert_int_equal(test_count_files(fresh), 1);
	assert_int_equal(test_rmtree(box), 0);

	assert_int_equal(receiver_open(&sc, &r, &err), -1);
	assert_null(r);
	assert_string_equal(err.msg, "receiver mail: username u needs a password "
			    "(password_file or password_credential)");

	write_secret(d, "s3cret\n", 0644);
	assert_int_equal(receiver_open(&wc, &r, &err), -1);
	assert_non_null(strstr(err.msg, "receiver hook: secret file"));
	assert_non_null(strstr(err.msg, "open to other users"));

	assert_int_equal(receiver_open(&xc, &r, &err), -1);
	assert_string_equal(err.msg, "receiver pager: unknown type 'pager'; expected smtp, "
			    "webhook, maildir");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_private_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_to_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credential_exempt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
