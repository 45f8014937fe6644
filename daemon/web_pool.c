/* web_pool.c — one state connection per server thread (see web_pool.h). */
#include "deadlined/web_pool.h"

#include <pthread.h>
#include <stdlib.h>

struct web_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	unsigned n;
	struct web_conn conn[];
};

void web_pool_close(struct web_pool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++) {
		state_web_close(p->conn[i].sw);
		state_close(p->conn[i].st);
	}
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int web_pool_open(const struct state_conf *conf, unsigned n, struct web_pool **out,
		  struct dl_error *err)
{
	struct web_pool *p = calloc(1, sizeof *p + n * sizeof p->conn[0]);

	*out = NULL;
	if (!p) {
		error_set(err, "out of memory");
		return -1;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	for (p->n = 0; p->n < n; p->n++) {
		struct web_conn *c = &p->conn[p->n];

		if (state_web_open(conf, &c->sw, err) < 0 || state_open(conf, &c->st, err) < 0) {
			p->n++;
			web_pool_close(p);
			return -1;
		}
	}
	*out = p;
	return 0;
}

struct web_conn *web_pool_take(struct web_pool *p)
{
	struct web_conn *c = NULL;

	pthread_mutex_lock(&p->lock);
	while (!c) {
		for (unsigned i = 0; !c && i < p->n; i++)
			if (!p->conn[i].busy)
				c = &p->conn[i];
		if (!c)
			pthread_cond_wait(&p->freed, &p->lock);
	}
	c->busy = true;
	pthread_mutex_unlock(&p->lock);
	return c;
}

void web_pool_give(struct web_pool *p, struct web_conn *c)
{
	pthread_mutex_lock(&p->lock);
	c->busy = false;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}
