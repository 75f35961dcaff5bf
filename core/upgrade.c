/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host-command.h"
#include "log.h"
#include "strv.h"
#include "upgrade.h"

extern char **environ;

static struct {
	char binary[PATH_MAX];
	char **argv;
	int argc;
} self;

/* The installed path: a package manager replaces the file, so the path is
 * read now (later, /proc/self/exe names the replaced file "(deleted)"). */
static void
find_binary(const char *argv0)
{
	ssize_t n = readlink("/proc/self/exe", self.binary, sizeof(self.binary) - 1);

	if (n > 0) {
		self.binary[n] = '\0';
		return;
	}
	if (!realpath(argv0, self.binary))
		snprintf(self.binary, sizeof(self.binary), "%s", argv0);
}

unsigned
upgrade_init(int argc, char **argv)
{
	const char *count = getenv(UPGRADE_COUNT_VAR);
	unsigned upgrades = count ? (unsigned)strtoul(count, NULL, 10) : 0;

	find_binary(argv[0]);
	self.argv = calloc((size_t)argc + 1, sizeof(*self.argv));
	for (int i = 0; self.argv && i < argc; i++)
		self.argv[i] = argv[i]; /* argv lives as long as the process */
	self.argc = argc;
	unsetenv(UPGRADE_COUNT_VAR);
	return upgrades;
}

const char *
upgrade_binary(void)
{
	return self.binary;
}

/* The runner's own environment, which its settings may come from. */
static int
copy_environ(struct strv *env)
{
	for (char **e = environ; *e; e++)
		if (strv_push(env, *e) < 0)
			return -ENOMEM;
	return 0;
}

struct check {
	void (*done)(void *userdata, int ok, const char *why);
	void *userdata;
};

static void
check_done(void *userdata, enum host_command_end end, const char *why)
{
	struct check *c = userdata;
	void (*done)(void *, int, const char *) = c->done;
	void *done_userdata = c->userdata;

	free(c);
	done(done_userdata, end == HOST_COMMAND_OK, why);
}

int
upgrade_check_start(struct runtime *rt, const char *items_dir,
		    void (*done)(void *userdata, int ok, const char *why), void *userdata,
		    struct host_command **ret, char *err, size_t errlen)
{
	struct host_command_spec spec;
	struct strv env = STRV_INIT;
	struct strv argv = STRV_INIT;
	struct check *c = calloc(1, sizeof(*c));
	int r = -ENOMEM;

	snprintf(err, errlen, "out of memory");
	if (!c || !self.argv || self.argc < 2)
		goto out;
	c->done = done;
	c->userdata = userdata;
	/* The orchestrator's flags under another command: a binary that does
	 * not know `upgrade-check` refuses it, and never serves. */
	if (strv_push(&argv, self.binary) < 0 || strv_push(&argv, "upgrade-check") < 0 ||
	    strv_push(&argv, items_dir) < 0)
		goto out;
	for (int i = 2; i < self.argc; i++)
		if (strv_push(&argv, self.argv[i]) < 0)
			goto out;
	if (copy_environ(&env) < 0)
		goto out;
	memset(&spec, 0, sizeof(spec));
	spec.argv = strv_array(&argv);
	spec.env = &env;
	spec.cwd = "/";
	spec.timeout_sec = UPGRADE_CHECK_TIMEOUT_SEC;
	spec.name = "the new binary's check";
	spec.component = "upgrade";
	r = host_command_start(rt, &spec, check_done, c, ret, err, errlen);
	if (r == 0)
		c = NULL;
out:
	free(c);
	strv_release(&env);
	strv_release(&argv);
	return r;
}

static char *const *
environ_with_count(struct strv *env, unsigned upgrades)
{
	char count[32];

	snprintf(count, sizeof(count), "%u", upgrades);
	if (copy_environ(env) < 0 || strv_setenv(env, UPGRADE_COUNT_VAR, count) < 0)
		return NULL;
	return strv_array(env);
}

int
upgrade_exec(unsigned upgrades)
{
	struct strv env = STRV_INIT;
	char *const *envp = environ_with_count(&env, upgrades);
	int r;

	if (!envp || !self.argv) {
		strv_release(&env);
		log_error("upgrade", "cannot re-execute: out of memory");
		return -ENOMEM;
	}
	self.argv[0] = self.binary;
	log_info("upgrade", "re-executing '%s'", self.binary);
	/* Ignored across the exec, until the new image handles it: its
	 * default would end the process. */
	signal(SIGUSR2, SIG_IGN);
	execve(self.binary, self.argv, envp);
	r = -errno;
	log_error("upgrade",
		  "cannot execute '%s': %s; starting the running binary again, which takes the "
		  "items back",
		  self.binary, strerror(-r));
	execve("/proc/self/exe", self.argv, envp);
	log_error("upgrade", "cannot execute the running binary again either: %s", strerror(errno));
	strv_release(&env);
	return r;
}
