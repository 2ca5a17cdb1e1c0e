/*
 * balance.c: choose a worker, or a target (a local worker or a remote
 * upstream, with a weight). Pure: no I/O, no clock. The caller says which
 * are usable right now; the policy picks among them.
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

/*
 * Targets: smooth weighted round-robin (nginx's): each pick adds every
 * candidate's weight to its current weight, takes the highest, and takes
 * the total off the one taken. Over any run of picks each gets its share
 * of the weights, interleaved (5 1 1 gives a a b a c a a, not a a a a a b
 * c); equal weights give plain round-robin in table order.
 */
static int
balance_swrr(struct target *const *t, const unsigned char *cand, int n)
{
	int64_t	total = 0;
	int	i, best = -1;

	for (i = 0; i < n; i++) {
		if (!cand[i])
			continue;
		t[i]->t_cw += t[i]->t_weight;
		total += t[i]->t_weight;
		if (best == -1 || t[i]->t_cw > t[best]->t_cw)
			best = i;
	}
	if (best != -1)
		t[best]->t_cw -= total;
	return best;
}

/*
 * Least connections, weighted: the fewest live connections per unit of
 * weight (a / wa < b / wb, compared as a * wb < b * wa); ties go by
 * smooth weighted round-robin among the tied, as nginx's least_conn does.
 */
static void
balance_fewest(struct target *const *t, unsigned char *cand, int n)
{
	int	i, best = -1;

	for (i = 0; i < n; i++)
		if (cand[i] && (best == -1 || (int64_t)t[i]->t_active *
		    t[best]->t_weight < (int64_t)t[best]->t_active *
		    t[i]->t_weight))
			best = i;
	for (i = 0; best != -1 && i < n; i++)
		if (cand[i] && (int64_t)t[i]->t_active * t[best]->t_weight !=
		    (int64_t)t[best]->t_active * t[i]->t_weight)
			cand[i] = 0;
}

/*
 * Returns the index of the chosen target in t[0..n), or -1 if none is
 * usable. A target of weight 0 takes nothing; a backup only when no
 * primary target is usable (the caller's usable() says up, ready and not
 * tried for this connection already).
 */
int
balance_pick_target(struct balance *b, struct target *const *t, int n,
    int (*usable)(const struct target *, void *), void *arg)
{
	unsigned char	 cand[UPSTREAM_MAX_TARGETS + PORTER_MAX_WORKERS];
	int		 i, backup, any;

	if (n <= 0 || n > (int)sizeof(cand))
		return -1;
	for (backup = 0; backup < 2; backup++) {
		any = 0;
		for (i = 0; i < n; i++) {
			cand[i] = t[i] != NULL && t[i]->t_backup == backup &&
			    t[i]->t_weight > 0 && usable(t[i], arg);
			any |= cand[i];
		}
		if (!any)
			continue;
		if (b->b_kind == BALANCE_LEASTCONN)
			balance_fewest(t, cand, n);
		return balance_swrr(t, cand, n);
	}
	return -1;
}
