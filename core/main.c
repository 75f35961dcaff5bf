/* SPDX-License-Identifier: MIT */
/*
 * Entry point: subcommand dispatch.  Errors in the command line are printed
 * as one plain line on stderr (the log is not open yet); everything after
 * that goes through the log.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdline.h"
#include "keyfile.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "plugin-check.h"
#include "procfs.h"
#include "resume.h"
#include "runner.h"
#include "secret.h"
#include "settings.h"
#include "upgrade.h"

static int
print_dir_cb(void *userdata, const char *dir)
{
	int *first = userdata;

	printf("%s%s", *first ? "" : ":", dir);
	*first = 0;
	return 0;
}

struct listing {
	int count;
	int verbose;
};

static void
print_option(void *userdata, const struct er_option *opt)
{
	printf("%-9s --plugin-option %s=%s\n%-9s     %s\n", "", opt->name,
	       opt->arg ? opt->arg : "yes", "", opt->help ? opt->help : "");
}

static void
print_plugin(void *userdata, const char *path, const struct plugin *p, const char *why,
	     const char *shadowed_by)
{
	struct listing *l = userdata;

	l->count++;
	if (p)
		printf("%-9s %-16s %-10s %u.%-4u %s", loader_kind_to_string(p->kind), p->desc.name,
		       p->desc.version ? p->desc.version : "?", (unsigned)p->desc.abi_major,
		       (unsigned)p->desc.abi_minor, path);
	else
		printf("%-9s %s", "refused", why);
	if (shadowed_by)
		printf("  (shadowed by %s)", shadowed_by);
	putchar('\n');
	if (p && l->verbose) {
		printf("%-9s %s\n", "", p->desc.description ? p->desc.description : "");
		loader_for_each_option(p, print_option, NULL);
	}
}

static void
print_help_option(void *userdata, const struct er_option *opt)
{
	int *printed = userdata;
	char left[96];

	if (!(*printed)++)
		printf("\nPlugin options (--plugin-option NAME.KEY=VALUE) of the plugins in the "
		       "search path:\n");
	snprintf(left, sizeof(left), "%s=%s", opt->name, opt->arg ? opt->arg : "yes");
	printf("  %-32s %s\n", left, opt->help ? opt->help : "");
}

static void
help_plugin(void *userdata, const char *path, const struct plugin *p, const char *why,
	    const char *shadowed_by)
{
	if (p && !shadowed_by)
		loader_for_each_option(p, print_help_option, userdata);
}

/* --help: what --plugin-option accepts here ('plugins --verbose' says more). */
static void
print_plugin_options(const struct settings *s)
{
	int printed = 0;

	loader_scan(s, help_plugin, &printed);
}

static int
run_plugins(const struct settings *s)
{
	struct listing l = { 0, s->plugins_verbose };
	int first = 1;
	int r;

	printf("# search path: ");
	loader_for_each_dir(s, print_dir_cb, &first);
	printf("\n%-9s %-16s %-10s %-6s %s\n", "KIND", "NAME", "VERSION", "ABI", "FILE");
	r = loader_scan(s, print_plugin, &l);
	if (r < 0) {
		fprintf(stderr, "environment-runner: out of memory\n");
		return EX_OSERR;
	}
	if (l.count == 0)
		printf("# no plugins found\n");
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

static int
open_plugin(const struct settings *s, uint32_t kind, const char *name, struct plugin **ret)
{
	char err[LOADER_ERR_MAX];
	int known;
	int r;

	r = loader_find_and_open(s, kind, name, ret, err, sizeof(err));
	if (r == 0)
		return 0;
	known = kind == ER_KIND_SANDBOX ? settings_is_known_sandbox(name)
					: settings_is_known_executor(name);
	if (r == -ENOENT && !strchr(name, '/') && !known) {
		log_error("loader", "unknown %s '%s' (the runner ships %s): %s",
			  kind == ER_KIND_SANDBOX ? "sandbox backend" : "executor", name,
			  kind == ER_KIND_SANDBOX
				  ? "none, bubblewrap (alias srt, bwrap), landlock, firejail"
				  : "toolset, claude-code, command",
			  err);
		return EX_USAGE;
	}
	log_error("loader", "%s", err);
	return loader_exit_code(r);
}

/* The default's candidates, strongest first (runner.h). */
static const char *const default_sandboxes[] = {
	ER_DEFAULT_SANDBOX,
#ifdef ER_DEFAULT_SANDBOX_FALLBACK
	ER_DEFAULT_SANDBOX_FALLBACK,
#endif
	NULL,
};

/* The sandbox asked for, or the default's candidates that load. */
static int
open_sandboxes(const struct settings *s, struct runner_sandboxes *sb)
{
	char err[LOADER_ERR_MAX];
	int r;

	if (!s->sandbox_defaulted) {
		r = open_plugin(s, ER_KIND_SANDBOX, s->sandbox_backend, &sb->p[0]);
		sb->n = r ? 0 : 1;
		return r;
	}
	for (size_t i = 0; default_sandboxes[i] && sb->n < RUNNER_MAX_SANDBOXES; i++) {
		if (loader_find_and_open(s, ER_KIND_SANDBOX, default_sandboxes[i], &sb->p[sb->n],
					 err, sizeof(err)) == 0)
			sb->n++;
		else
			runner_sandboxes_note(sb, default_sandboxes[i], err);
	}
	if (sb->n == 0) {
		log_error("loader", "no sandbox backend to choose from (%s); %s", sb->why,
			  SETTINGS_DEFAULT_SANDBOX_FIX);
		return EX_UNAVAILABLE;
	}
	return 0;
}

static void
close_sandboxes(struct runner_sandboxes *sb)
{
	for (size_t i = 0; i < sb->n; i++)
		plugin_close(sb->p[i]);
}

/* The selected sandbox (or the default's candidates) and executor, and the
 * plugin options they declare. */
static int
open_plugins(const struct settings *s, struct runner_sandboxes *ret_sandboxes,
	     struct plugin **ret_executor)
{
	char err[LOADER_ERR_MAX * 2];
	int r;

	r = open_sandboxes(s, ret_sandboxes);
	if (r)
		return r;
	r = open_plugin(s, ER_KIND_EXECUTOR, s->executor, ret_executor);
	if (r)
		return r;
	if (loader_check_options(s, (const struct plugin *const *)ret_sandboxes->p,
				 ret_sandboxes->n, *ret_executor, err, sizeof(err)) < 0) {
		log_error("loader", "%s", err);
		return EX_USAGE;
	}
	return 0;
}

static int
open_log(const struct settings *s)
{
	int r = log_open(s->log_file, s->log_format, s->log_level);

	if (r < 0) {
		fprintf(stderr,
			"environment-runner: cannot open log file '%s': %s; fix: pass "
			"--log-file with a writable path\n",
			s->log_file, strerror(-r));
		return EX_CANTCREAT;
	}
	return 0;
}

static int
run_orchestrator(struct settings *s)
{
	struct runner_sandboxes sandboxes = { { NULL }, 0, "" };
	struct plugin *executor = NULL;
	struct plugin *first;
	int r;

	r = open_log(s);
	if (r)
		return r;
	r = open_plugins(s, &sandboxes, &executor);
	if (r)
		goto out;
	first = sandboxes.p[0];
	log_info("main", "environment-runner %s: sandbox %s %s (%s)%s%s, executor %s %s (%s)",
		 PACKAGE_VERSION, first->desc.name, first->desc.version, first->path,
		 sandboxes.n > 1 ? ", else " : "", sandboxes.n > 1 ? sandboxes.p[1]->desc.name : "",
		 executor->desc.name, executor->desc.version, executor->path);
	r = runner_run(s, &sandboxes, executor);
out:
	plugin_close(executor);
	close_sandboxes(&sandboxes);
	if (r == RUNNER_EXEC_UPGRADE && upgrade_exec(metrics.upgrades + 1) < 0)
		r = EX_OSERR;
	return r;
}

/* upgrade-check DIR: could this binary, with these flags, take over? */
static int
run_upgrade_check(struct settings *s, const char *dir)
{
	struct runner_sandboxes sandboxes = { { NULL }, 0, "" };
	struct statedir records = { (char *)dir, -1 };
	struct plugin *executor = NULL;
	char err[1024];
	int r;

	/* Its lines go to the runner that runs it, not to the runner's log. */
	free(s->log_file);
	s->log_file = NULL;
	r = open_log(s);
	if (r)
		return r;
	r = open_plugins(s, &sandboxes, &executor);
	if (r == 0 && resume_check(&records, err, sizeof(err)) < 0) {
		log_error("upgrade",
			  "environment-runner %s cannot take over an item record %s; fix: install "
			  "a version that reads it",
			  PACKAGE_VERSION, err);
		r = EX_DATAERR;
	}
	if (r == 0)
		log_info("upgrade", "environment-runner %s can take over", PACKAGE_VERSION);
	plugin_close(executor);
	close_sandboxes(&sandboxes);
	return r;
}

/* upgrade PID: SIGUSR2 to a runner; what follows is in its log. */
static int
send_upgrade(const char *pid_text)
{
	char cmd[256];
	char *end;
	long pid = strtol(pid_text, &end, 10);
	ssize_t n;

	if (*end || pid <= 1 || pid > INT32_MAX) {
		fprintf(stderr,
			"environment-runner: '%s' is not a process id; fix: pass the "
			"runner's, e.g. from 'systemctl show -p MainPID environment-runner'\n",
			pid_text);
		return EX_USAGE;
	}
	/* Only an orchestrator takes SIGUSR2 as an upgrade; to others it is
	 * fatal.  (Where /proc cannot tell, the signal goes as asked.) */
	n = procfs_read((pid_t)pid, "cmdline", cmd, sizeof(cmd));
	if (n > 0) {
		size_t len = strlen(cmd);
		const char *verb = (ssize_t)len + 1 < n ? cmd + len + 1 : "";

		if (!strstr(cmd, "environment-runner") || strcmp(verb, "orchestrator") != 0) {
			fprintf(stderr,
				"environment-runner: process %ld is not an environment-runner "
				"orchestrator; fix: pass the runner's process id\n",
				pid);
			return EX_USAGE;
		}
	}
	if (kill((pid_t)pid, SIGUSR2) < 0) {
		fprintf(stderr,
			"environment-runner: cannot signal process %ld: %s; fix: pass the process "
			"id of a runner this user may signal\n",
			pid, strerror(errno));
		return errno == ESRCH ? EX_NOINPUT : EX_NOPERM;
	}
	printf("sent SIGUSR2 to %ld: it checks its newly installed binary, waits for its running "
	       "tool calls, then re-executes; its log says how it went\n",
	       pid);
	return 0;
}

/* ANTHROPIC_WORK_SECRET_FILE: a private regular file holding the secret. */
static int
read_secret_file(const char *path, char **ret)
{
	char buf[65536];
	char err[1024];
	ssize_t n;
	int r;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = errno;
		snprintf(err, sizeof(err),
			 "cannot open ANTHROPIC_WORK_SECRET_FILE '%s': %s; fix: point it at the "
			 "file "
			 "holding the work secret",
			 path, strerror(r));
		if (r == EACCES)
			keyfile_check_path(path, "ANTHROPIC_WORK_SECRET_FILE",
					   "ANTHROPIC_WORK_SECRET_FILE", err, sizeof(err));
		fprintf(stderr, "environment-runner: %s\n", err);
		return EX_NOINPUT;
	}
	r = keyfile_check_fd(fd, "ANTHROPIC_WORK_SECRET_FILE", path, err, sizeof(err));
	if (r) {
		fprintf(stderr, "environment-runner: %s\n", err);
		close(fd);
		return r;
	}
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	*ret = len ? strdup(buf) : NULL;
	secret_wipe(buf, sizeof(buf));
	if (!*ret) {
		fprintf(stderr,
			"environment-runner: ANTHROPIC_WORK_SECRET_FILE '%s' is empty; fix: "
			"write the work secret into it\n",
			path);
		return EX_CONFIG;
	}
	return 0;
}

/* `environment-runner run-item`: the item from ANTHROPIC_* (docs/protocol.md §13). */
static int
run_item(struct settings *s)
{
	static const char *const required[] = { "ANTHROPIC_WORK_ID", "ANTHROPIC_ENVIRONMENT_ID",
						"ANTHROPIC_SESSION_ID" };
	struct runner_sandboxes sandboxes = { { NULL }, 0, "" };
	struct plugin *executor = NULL;
	struct runner_item item;
	const char *url = settings_getenv("ANTHROPIC_BASE_URL");
	const char *file = settings_getenv("ANTHROPIC_WORK_SECRET_FILE");
	char err[1024];
	char *secret = NULL;
	char *env_id = NULL;
	int r;

	memset(&item, 0, sizeof(item));
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!settings_getenv(required[i])) {
			fprintf(stderr,
				"environment-runner: run-item: %s is not set; fix: set "
				"ANTHROPIC_WORK_ID, "
				"ANTHROPIC_ENVIRONMENT_ID and ANTHROPIC_SESSION_ID (--on-work "
				"does)\n",
				required[i]);
			return EX_USAGE;
		}
	}
	item.work_id = settings_getenv("ANTHROPIC_WORK_ID");
	item.environment_id = settings_getenv("ANTHROPIC_ENVIRONMENT_ID");
	item.session_id = settings_getenv("ANTHROPIC_SESSION_ID");
	item.environment_key = settings_getenv("ANTHROPIC_ENVIRONMENT_KEY");
	if (file) {
		r = read_secret_file(file, &secret);
		if (r)
			return r;
	} else if (settings_getenv("ANTHROPIC_WORK_SECRET")) {
		secret = strdup(settings_getenv("ANTHROPIC_WORK_SECRET"));
		if (!secret)
			return EX_OSERR;
	}
	item.secret = secret;
	if (!secret && !item.environment_key) {
		fprintf(stderr, "environment-runner: run-item: no credential; fix: set "
				"ANTHROPIC_WORK_SECRET_FILE or ANTHROPIC_WORK_SECRET (or "
				"ANTHROPIC_ENVIRONMENT_KEY)\n");
		return EX_USAGE;
	}
	if (secret)
		log_add_secret(secret);
	/* The variables name the item; the API URL defaults to theirs. */
	env_id = strdup(item.environment_id);
	if (!env_id) {
		r = EX_OSERR;
		goto out;
	}
	if (url && s->api_url_defaulted) {
		char *copy = strdup(url);

		if (!copy) {
			r = EX_OSERR;
			goto out;
		}
		free(s->api_url);
		s->api_url = copy;
		r = settings_check_url(s, s->api_url, "ANTHROPIC_BASE_URL", err, sizeof(err));
		if (r) {
			fprintf(stderr, "environment-runner: %s\n", err);
			goto out;
		}
	}
	free(s->environment_id);
	s->environment_id = env_id;
	env_id = NULL;
	r = open_log(s);
	if (r)
		goto out;
	r = open_plugins(s, &sandboxes, &executor);
	if (r)
		goto out;
	r = runner_run_item(s, &sandboxes, executor, &item);
out:
	plugin_close(executor);
	close_sandboxes(&sandboxes);
	free(env_id);
	secret_free(secret);
	return r;
}

int
main(int argc, char **argv)
{
	struct settings s;
	struct cmdline cmd;
	char err[1024];
	int r;

	/* Before any credential is read: no core dump, no ptrace by peers. */
	secret_protect_process();
	metrics.upgrades = upgrade_init(argc, argv);
	/* An upgrade's SIGUSR2 before the runner handles it must not end it. */
	signal(SIGUSR2, SIG_IGN);
	settings_init(&s);
	err[0] = '\0';
	r = cmdline_parse(argc, argv, &s, &cmd, err, sizeof(err));
	if (r) {
		fprintf(stderr, "environment-runner: %s\n", err);
		goto out;
	}
	switch (cmd.verb) {
	case CMDLINE_HELP:
		cmdline_usage(stdout, cmd.help_for);
		if (cmd.help_for == CMDLINE_ORCHESTRATOR || cmd.help_for == CMDLINE_RUN_ITEM ||
		    cmd.help_for == CMDLINE_PLUGIN_CHECK)
			print_plugin_options(&s);
		break;
	case CMDLINE_VERSION:
		printf("environment-runner %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, ER_ABI_MAJOR,
		       ER_ABI_MINOR);
		break;
	case CMDLINE_PLUGINS:
		r = run_plugins(&s);
		break;
	case CMDLINE_ORCHESTRATOR:
		r = run_orchestrator(&s);
		break;
	case CMDLINE_RUN_ITEM:
		r = run_item(&s);
		break;
	case CMDLINE_PLUGIN_CHECK:
		r = plugin_check(&s, cmd.file);
		break;
	case CMDLINE_UPGRADE:
		r = send_upgrade(cmd.file);
		break;
	case CMDLINE_UPGRADE_CHECK:
		r = run_upgrade_check(&s, cmd.file);
		break;
	}
out:
	settings_release(&s);
	log_close();
	return r;
}
