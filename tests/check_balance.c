/*
 * check_balance.c: worker selection, without sockets.
 */
#include "config.h"

#include <stdlib.h>

#include <check.h>

#include "../src/porter.h"
#include "check_run.h"

static struct worker	 ws[4];
static struct worker	*tab[4];

static int
usable(const struct worker *w, void *arg)
{
	(void)arg;
	return w->w_state == WS_READY;
}

static void
setup(void)
{
	int	i;

	for (i = 0; i < 4; i++) {
		ws[i].w_id = i;
		ws[i].w_state = WS_READY;
		ws[i].w_active = 0;
		tab[i] = &ws[i];
	}
}

START_TEST(test_rr_alternates)
{
	struct balance	b = { BALANCE_RR, 0 };
	int		i;

	for (i = 0; i < 12; i++)
		ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), i % 4);
}
END_TEST

START_TEST(test_rr_skips_unready)
{
	struct balance	b = { BALANCE_RR, 0 };

	ws[1].w_state = WS_STARTING;
	ws[2].w_state = WS_DRAINING;
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), 0);
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), 3);
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), 0);
	ws[1].w_state = WS_READY;
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), 1);
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), 3);
}
END_TEST

START_TEST(test_none_usable)
{
	struct balance	b = { BALANCE_RR, 0 };
	int		i;

	for (i = 0; i < 4; i++)
		ws[i].w_state = WS_IDLE;
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), -1);
	ck_assert_int_eq(balance_pick(&b, tab, 0, usable, NULL), -1);
	b.b_kind = BALANCE_LEASTCONN;
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), -1);
}
END_TEST

START_TEST(test_rr_fair_after_change)
{
	struct balance	b = { BALANCE_RR, 0 };
	int		counts[4] = { 0 }, i;

	/* Worker 2 leaves and comes back: the others stay even. */
	for (i = 0; i < 400; i++) {
		ws[2].w_state = (i >= 100 && i < 200) ? WS_IDLE : WS_READY;
		counts[balance_pick(&b, tab, 4, usable, NULL)]++;
	}
	ck_assert_int_le(abs(counts[0] - counts[1]), 1);
	ck_assert_int_le(abs(counts[1] - counts[3]), 1);
	ck_assert_int_le(abs(counts[0] - counts[3]), 1);
	ck_assert_int_eq(counts[0] + counts[1] + counts[2] + counts[3], 400);
	ck_assert_int_lt(counts[2], counts[0]);
}
END_TEST

START_TEST(test_leastconn)
{
	struct balance	b = { BALANCE_LEASTCONN, 0 };

	ws[0].w_active = 5;
	ws[1].w_active = 2;
	ws[2].w_active = 7;
	ws[3].w_active = 2;
	/* Ties between 1 and 3 go round-robin. */
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), 1);
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), 3);
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), 1);
	ws[1].w_active = 9;
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), 3);
	ws[3].w_state = WS_STARTING;
	ck_assert_int_eq(balance_pick(&b, tab, 4, usable, NULL), 0);
}
END_TEST

static int
not_tried(const struct worker *w, void *arg)
{
	return w->w_state == WS_READY && w->w_id != *(int *)arg;
}

START_TEST(test_exclude)
{
	struct balance	b = { BALANCE_RR, 0 };
	int		tried = 0;

	/* The caller's predicate can exclude a worker that just refused. */
	ck_assert_int_eq(balance_pick(&b, tab, 4, not_tried, &tried), 1);
	b.b_next = 0;
	tried = 1;
	ck_assert_int_eq(balance_pick(&b, tab, 2, not_tried, &tried), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("balance");
	TCase	*tc = tcase_create("balance");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_rr_alternates);
	tcase_add_test(tc, test_rr_skips_unready);
	tcase_add_test(tc, test_none_usable);
	tcase_add_test(tc, test_rr_fair_after_change);
	tcase_add_test(tc, test_leastconn);
	tcase_add_test(tc, test_exclude);
	suite_add_tcase(s, tc);
	return check_run(s);
}
