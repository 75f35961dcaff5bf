/* SPDX-License-Identifier: MIT */
/*
 * Entry point: subcommand dispatch.  Errors in the command line are printed
 * as one plain line on stderr (the log is not open yet); everything after
 * that goes through the log.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmdline.h"
#include "loader.h"
#include "log.h"
#include "runner.h"
#include "settings.h"

static int
print_dir_cb(void *userdata, const char *dir)
{
	int *first = userdata;

	printf("%s%s", *first ? "" : ":", dir);
	*first = 0;
	return 0;
}

static void
print_plugin(void *userdata, const char *path, const struct plugin *p, const char *why,
	     const char *shadowed_by)
{
	int *count = userdata;

	(*count)++;
	if (p)
		printf("%-9s %-16s %-10s %u.%-4u %s", loader_kind_to_string(p->kind), p->desc.name,
		       p->desc.version ? p->desc.version : "?", (unsigned)p->desc.abi_major,
		       (unsigned)p->desc.abi_minor, path);
	else
		printf("%-9s %s", "refused", why);
	if (shadowed_by)
		printf("  (shadowed by %s)", shadowed_by);
	putchar('\n');
}

static int
run_plugins(const struct settings *s)
{
	int first = 1;
	int count = 0;
	int r;

	printf("# search path: ");
	loader_for_each_dir(s, print_dir_cb, &first);
	printf("\n%-9s %-16s %-10s %-6s %s\n", "KIND", "NAME", "VERSION", "ABI", "FILE");
	r = loader_scan(s, print_plugin, &count);
	if (r < 0) {
		fprintf(stderr, "environment-runner: out of memory\n");
		return EX_OSERR;
	}
	if (count == 0)
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
			  kind == ER_KIND_SANDBOX ? "none, bubblewrap (alias srt, bwrap), firejail"
						  : "toolset, claude-code, command",
			  err);
		return EX_USAGE;
	}
	log_error("loader", "%s%s", err,
		  kind == ER_KIND_SANDBOX && s->sandbox_defaulted ? SETTINGS_DEFAULT_SANDBOX_HINT : "");
	return loader_exit_code(r);
}

static int
run_orchestrator(struct settings *s)
{
	struct plugin *sandbox = NULL;
	struct plugin *executor = NULL;
	int r;

	r = log_open(s->log_file, s->log_format, s->log_level);
	if (r < 0) {
		fprintf(stderr,
			"environment-runner: cannot open log file '%s': %s; fix: pass "
			"--log-file with a writable path\n",
			s->log_file, strerror(-r));
		return EX_CANTCREAT;
	}
	r = open_plugin(s, ER_KIND_SANDBOX, s->sandbox_backend, &sandbox);
	if (r)
		goto out;
	r = open_plugin(s, ER_KIND_EXECUTOR, s->executor, &executor);
	if (r)
		goto out;
	log_info("main", "environment-runner %s: sandbox %s %s (%s), executor %s %s (%s)",
		 PACKAGE_VERSION, sandbox->desc.name, sandbox->desc.version, sandbox->path,
		 executor->desc.name, executor->desc.version, executor->path);
	r = runner_run(s, sandbox, executor);
out:
	plugin_close(executor);
	plugin_close(sandbox);
	return r;
}

int
main(int argc, char **argv)
{
	struct settings s;
	struct cmdline cmd;
	char err[1024];
	int r;

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
	}
out:
	settings_release(&s);
	log_close();
	return r;
}
