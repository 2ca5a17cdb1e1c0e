/*
 * balance.c: choose a worker. Pure: no I/O, no clock. The caller says which
 * workers are usable right now; the policy picks among them.
 */
#include "config.h"

#include "porter.h"

typedef int (*balance_fn)(struct balance *, struct worker *const *, int,
    balance_usable_fn, void *);

static int	balance_rr(struct balance *, struct worker *const *, int,
		    balance_usable_fn, void *);
static int	balance_leastconn(struct balance *, struct worker *const *,
		    int, balance_usable_fn, void *);

static const balance_fn balance_ops[] = {
	[BALANCE_RR] = balance_rr,
	[BALANCE_LEASTCONN] = balance_leastconn,
};

/* The next usable worker after the last one picked. */
static int
balance_rr(struct balance *b, struct worker *const *w, int n,
    balance_usable_fn usable, void *arg)
{
	int	i, idx;

	for (i = 0; i < n; i++) {
		idx = (int)((b->b_next + (unsigned int)i) % (unsigned int)n);
		if (w[idx] != NULL && usable(w[idx], arg)) {
			b->b_next = (unsigned int)idx + 1;
			return idx;
		}
	}
	return -1;
}

/* The usable worker with the fewest live connections; ties go round-robin. */
static int
balance_leastconn(struct balance *b, struct worker *const *w, int n,
    balance_usable_fn usable, void *arg)
{
	int	i, idx, best = -1;

	for (i = 0; i < n; i++) {
		idx = (int)((b->b_next + (unsigned int)i) % (unsigned int)n);
		if (w[idx] == NULL || !usable(w[idx], arg))
			continue;
		if (best == -1 || w[idx]->w_active < w[best]->w_active)
			best = idx;
	}
	if (best != -1)
		b->b_next = (unsigned int)best + 1;
	return best;
}

/* Returns the index of the chosen worker in w[0..n), or -1 if none. */
int
balance_pick(struct balance *b, struct worker *const *w, int n,
    balance_usable_fn usable, void *arg)
{
	if (n <= 0)
		return -1;
	return balance_ops[b->b_kind](b, w, n, usable, arg);
}
