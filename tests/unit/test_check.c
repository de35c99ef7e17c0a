/*
 * The parts of the check state machine that need exact numbers: Nagios' percent
 * state change.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "check.h"

Test(check, a_steady_history_does_not_flap)
{
	cr_assert_float_eq(check_flap_percent("000000000000000000000"), 0.0, 1e-9);
	cr_assert_float_eq(check_flap_percent("2"), 0.0, 1e-9);
	cr_assert_float_eq(check_flap_percent(""), 0.0, 1e-9);
}

Test(check, every_result_changing_is_100_percent)
{
	cr_assert_float_eq(check_flap_percent("020202020202020202020"), 100.0, 1e-9);
}

Test(check, a_short_history_counts_as_padded_with_its_first_state)
{
	/* "020" is 19 zeroes, then 2, then 0: two changes at the newest end, weighted
	 * (0.8 + 0.4 * 18/19) and 1.2, out of 20 weights averaging 1.0 */
	double expect = 100.0 * ((0.8 + 0.4 * 18.0 / 19.0) + 1.2) / 20.0;
	cr_assert_float_eq(check_flap_percent("020"), expect, 1e-9);
	cr_assert_lt(check_flap_percent("020"), 20.0, "one failure and back is no flapping");
}

Test(check, recent_changes_weigh_more_than_old_ones)
{
	double old = check_flap_percent("022222222222222222222");	/* changed first */
	double recent = check_flap_percent("000000000000000000002");	/* changed last */
	cr_assert_lt(old, recent);
	cr_assert_float_eq(old, 100.0 * 0.8 / 20.0, 1e-9);
	cr_assert_float_eq(recent, 100.0 * 1.2 / 20.0, 1e-9);
}

#include "stats.h"

Test(stats, percentiles_interpolate_between_the_closest_ranks)
{
	double v[] = { 30, 180, 300 };
	cr_assert_float_eq(stats_percentile(v, 3, 50), 180, 1e-9);
	cr_assert_float_eq(stats_percentile(v, 3, 90), 276, 1e-9);	/* 180 + 0.8 * 120 */
	cr_assert_float_eq(stats_percentile(v, 3, 100), 300, 1e-9);
	cr_assert_float_eq(stats_percentile(v, 3, 0), 30, 1e-9);
	double one[] = { 42 };
	cr_assert_float_eq(stats_percentile(one, 1, 90), 42, 1e-9);
	cr_assert_float_eq(stats_percentile(NULL, 0, 50), 0, 1e-9);
}
