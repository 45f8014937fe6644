/* bench_delivery.c — delivery throughput (make bench; tests/bench/delivery.sh
 * starts the servers and reads their counts).
 *
 *   bench_delivery webhook URL CA_FILE COUNT
 *   bench_delivery smtp URL CA_FILE COUNT BATCH
 *
 * Sends COUNT messages through the real sender (webhook.c with 8
 * connections, in batches of 200 as the service's delivery rounds do;
 * smtp.c in batches of BATCH: one connection a batch) and prints the
 * seconds taken and how many were accepted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "deadlined/smtp.h"
#include "deadlined/webhook.h"

#define WEBHOOK_BATCH 200

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char PAYLOAD[] =
	"{\"type\":\"overdue\",\"items\":[{\"case_ref\":\"REF-2026-000123\",\"rule\":"
	"\"referral-decision\",\"due\":\"2026-11-20\",\"days_overdue\":3,\"team\":\"CPN\"}]}";

int main(int argc, char **argv)
{
	struct receiver_conf rc = { .name = "bench", .connect_timeout = 5, .timeout = 30,
				    .max_connections = 8, .from = "deadlined@bench.invalid" };
	struct message *m;
	struct delivery_result *res;
	struct dl_error err;
	long count, batch, ok = 0;
	char (*ids)[48];
	double t0;

	if (argc < 5 || (strcmp(argv[1], "smtp") == 0 && argc != 6)) {
		fprintf(stderr, "usage: bench_delivery webhook|smtp URL CA_FILE COUNT [BATCH]\n");
		return 2;
	}
	count = atol(argv[4]);
	batch = strcmp(argv[1], "smtp") == 0 ? atol(argv[5]) : WEBHOOK_BATCH;
	rc.url = argv[2];
	rc.ca_file = argv[3];
	m = calloc((size_t)count, sizeof *m);
	res = calloc((size_t)count, sizeof *res);
	ids = calloc((size_t)count, sizeof *ids);
	if (count < 1 || batch < 1 || !m || !res || !ids ||
	    curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	for (long i = 0; i < count; i++) {
		snprintf(ids[i], sizeof ids[i], "bench-%ld@deadlined.invalid", i);
		m[i] = (struct message){ i + 1, ids[i], "tm@council.example",
					 "Overdue: REF-2026-000123 referral decision",
					 "The referral decision for REF-2026-000123 was due on 20 Nov.\n",
					 "<p>The referral decision for REF-2026-000123 was due.</p>",
					 PAYLOAD, 1795435200 };
	}
	if (strcmp(argv[1], "webhook") == 0) {
		struct webhook_sender *s;

		rc.type = "webhook";
		rc.kind = RECEIVER_WEBHOOK;
		rc.format = "generic";
		rc.wformat = WEBHOOK_GENERIC;
		for (long i = 0; i < count; i++)
			m[i].to = NULL;
		if (webhook_open(&rc, rc.url, NULL, &s, &err) < 0) {
			fprintf(stderr, "bench_delivery: %s\n", err.msg);
			return 1;
		}
		t0 = seconds();
		for (long i = 0; i < count; i += batch)
			webhook_send(s, m + i, (size_t)(count - i < batch ? count - i : batch), res + i);
		t0 = seconds() - t0;
		webhook_close(s);
	} else {
		struct smtp_sender *s;

		rc.type = "smtp";
		rc.kind = RECEIVER_SMTP;
		if (smtp_open(&rc, NULL, &s, &err) < 0) {
			fprintf(stderr, "bench_delivery: %s\n", err.msg);
			return 1;
		}
		t0 = seconds();
		for (long i = 0; i < count; i += batch)
			smtp_send(s, m + i, (size_t)(count - i < batch ? count - i : batch), res + i);
		t0 = seconds() - t0;
		smtp_close(s);
	}
	for (long i = 0; i < count; i++) {
		if (res[i].status == DELIVERY_OK)
			ok++;
		else if (ok == i)    /* the first failure only */
			fprintf(stderr, "bench_delivery: message %ld: %s\n", i, res[i].detail);
	}
	printf("%.3f %ld\n", t0, ok);
	curl_global_cleanup();
	free(m);
	free(res);
	free(ids);
	return ok == count ? 0 : 1;
}
