/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stddef.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "descriptors.h"
#include "log.h"

long
descriptors_raise_limit(int capacity)
{
	struct rlimit rl;
	rlim_t need = DESCRIPTORS_BASE + (rlim_t)capacity * DESCRIPTORS_PER_SESSION;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = { rl.rlim_max, rl.rlim_max };

		/* macOS refuses RLIM_INFINITY for files: settle for what fits. */
		if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
			want.rlim_cur = need > rl.rlim_cur ? need : rl.rlim_cur;
			if (setrlimit(RLIMIT_NOFILE, &want) < 0)
				want.rlim_cur = rl.rlim_cur;
		}
		rl.rlim_cur = want.rlim_cur;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return 0;
	if (rl.rlim_cur < need)
		log_warning(
			"runner",
			"--capacity %d may need about %llu open files, but the limit is %llu: "
			"sessions are claimed only while descriptors are free; " DESCRIPTORS_FIX,
			capacity, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
	return (long)rl.rlim_cur;
}

long
descriptors_request_cap(long limit)
{
	long most = limit / 16;

	if (limit <= 0 || most > DESCRIPTORS_REQUESTS_MAX)
		return DESCRIPTORS_REQUESTS_MAX;
	return most < DESCRIPTORS_REQUESTS_MIN ? DESCRIPTORS_REQUESTS_MIN : most;
}

long
descriptors_open(void)
{
	struct stat st;

	if (stat("/proc/self/fd", &st) < 0 || st.st_size <= 0)
		return -1;
	return (long)st.st_size;
}

long
descriptors_peak_note(struct descriptors_peak *p, uint64_t now_ms, long open)
{
	uint64_t second = now_ms / 1000;
	long most = open;

	if (open < 0)
		return -1;
	/* The seconds gone by since the newest entry start empty. */
	for (uint64_t s = p->second + 1; s <= second && s - p->second <= DESCRIPTORS_PEAK_SECONDS;
	     s++)
		p->per_second[s % DESCRIPTORS_PEAK_SECONDS] = 0;
	if (second > p->second)
		p->second = second;
	if (open > p->per_second[second % DESCRIPTORS_PEAK_SECONDS])
		p->per_second[second % DESCRIPTORS_PEAK_SECONDS] = open;
	for (size_t i = 0; i < DESCRIPTORS_PEAK_SECONDS; i++)
		if (p->per_second[i] > most)
			most = p->per_second[i];
	return most;
}

int
descriptors_room_for_session(long limit, int sessions, long open, long *in_use)
{
	long reserve = sessions / 2 > DESCRIPTORS_BASE ? sessions / 2 : DESCRIPTORS_BASE;

	if (open < 0)
		open = DESCRIPTORS_BASE + (long)sessions * DESCRIPTORS_PER_SESSION;
	*in_use = open;
	/* With none running, one is tried whatever the limit: a runner that
	 * would never claim would only wait (the start warned). */
	return limit <= 0 || sessions == 0 || open + DESCRIPTORS_PER_SESSION + reserve <= limit;
}
