/* preflight.c — what `deadlined -n` checks beyond the file (see preflight.h). */
#include "deadlined/preflight.h"

#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "deadlined/receiver.h"
#include "deadlined/regfile.h"

/* One secret: a file, or a credential (checked only under systemd). */
static void check_secret(const struct receiver_conf *rc, const char *file,
			 const char *credential, struct dl_errors *errors)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	struct dl_error err;
	char *secret = NULL;

	if (!file && !credential)
		return;
	/* Outside the service nothing can be checked; said in deadlined(8), not
	 * on every run, so -n stays quiet for an administrator's shell. */
	if (!file && (!dir || !*dir))
		return;
	if (receiver_read_secret(file, credential, &secret, &err) < 0)
		errors_add(errors, "receivers.%s: %s", rc->name, err.msg);
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
}

/* A CA bundle is no secret, but must be there for TLS to be verified. */
static void check_ca(const struct receiver_conf *rc, struct dl_errors *errors)
{
	struct dl_error err;
	int fd;

	if (!rc->ca_file)
		return;
	if ((fd = regfile_open(rc->ca_file, 64 * 1024 * 1024, &err)) < 0)
		errors_add(errors, "receivers.%s: ca_file %s", rc->name, err.msg);
	else
		close(fd);
}

size_t preflight_check(const struct conf *conf, struct dl_errors *errors,
		       struct dl_errors *warnings)
{
	const struct receiver_conf *rc = conf->receivers.v;
	size_t before = errors->n;

	for (size_t i = 0; i < conf->receivers.n; i++) {
		check_secret(&rc[i], rc[i].password_file, rc[i].password_credential, errors);
		check_secret(&rc[i], rc[i].url_file, rc[i].url_credential, errors);
		check_secret(&rc[i], rc[i].secret_file, rc[i].secret_credential, errors);
		check_ca(&rc[i], errors);
	}
	if (conf->rules.n == 0)
		errors_add(warnings, "no rules: nothing will be evaluated (rules = { @include "
			   "\"rules/...\" })");
	if (conf->receivers.n == 0)
		errors_add(warnings, "no receivers: no alert can be sent (receivers = { ... })");
	return errors->n - before;
}
