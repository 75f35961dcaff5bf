/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the runner's host services, for executor unit tests: a
 * small poll(2) loop for watches and timers, fork/exec for spawn (own
 * process group, piped stdio, an allow-listed environment), and a record
 * of every tool_result.  Single-threaded, one instance per process.
 */
#ifndef ER_TEST_MOCK_HOST_H
#define ER_TEST_MOCK_HOST_H

#include <stddef.h>

#include <environment-runner/plugin.h>

#define MOCK_MAX_RESULTS 256

struct mock_result {
	char *call_id;
	int is_error;
	char *text;
	size_t len;
};

extern const struct er_host mock_host;
extern struct mock_result mock_results[MOCK_MAX_RESULTS];
extern int mock_nresults;

/* The last line a plugin logged. */
extern char mock_last_log[1024];
/* When set, spawn() runs this command instead of the one asked for, as a
 * sandbox whose wrapped command fails would. */
extern const char *const *mock_wrapper;
/* When set, the child runs this shell command just before the exec: what
 * the session does between a tool's check and the program's start. */
extern const char *mock_pre_exec;

/* A fake session handle for spawn() and tool_result(). */
struct er_session *mock_session(void);

/* Serve watches, timers and child exits until `n` results were recorded or
 * `timeout_ms` passed; returns the number of results. */
int mock_run_until(int n, int timeout_ms);
/* Serve for `ms` milliseconds. */
void mock_run_for(int ms);
/* Live (spawned, not yet reaped) processes. */
int mock_live_processes(void);
/* Forget recorded results. */
void mock_reset_results(void);

#endif
