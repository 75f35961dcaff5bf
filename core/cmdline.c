/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "conffile.h"

struct flag_value {
	const struct settings_def *def;
	const char *value;
};

static const struct {
	const char *name;
	enum cmdline_verb verb;
	unsigned mask;
	const char *summary;
} verbs[] = {
	{ "orchestrator", CMDLINE_ORCHESTRATOR, SETTINGS_VERB_ORCHESTRATOR,
	  "claim sessions of an environment and run their tools" },
	{ "run-item", CMDLINE_RUN_ITEM, SETTINGS_VERB_RUN_ITEM,
	  "serve one already claimed work item named by ANTHROPIC_* variables (for --on-work)" },
	{ "plugins", CMDLINE_PLUGINS, SETTINGS_VERB_PLUGINS,
	  "list the plugins found in the search path, and the files refused" },
	{ "plugin-check", CMDLINE_PLUGIN_CHECK, SETTINGS_VERB_PLUGIN_CHECK,
	  "run the plugin FILE through the checks of its contract (for plugin authors)" },
	{ "upgrade", CMDLINE_UPGRADE, SETTINGS_VERB_UPGRADE,
	  "make the runner PID re-execute its binary, newly installed, keeping its sessions" },
	{ "upgrade-check", CMDLINE_UPGRADE_CHECK, SETTINGS_VERB_ORCHESTRATOR,
	  "check that this binary, with an orchestrator's FLAGS, can take over the item records in "
	  "DIR (run by an upgrade)" },
};

/* The operand a command takes before its flags, or NULL. */
static const char *
operand_name(enum cmdline_verb verb)
{
	switch (verb) {
	case CMDLINE_PLUGIN_CHECK:
		return "FILE";
	case CMDLINE_UPGRADE:
		return "PID";
	case CMDLINE_UPGRADE_CHECK:
		return "DIR";
	default:
		return NULL;
	}
}

static const char *
verb_name(enum cmdline_verb verb)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "";
}

static unsigned
verb_mask(enum cmdline_verb verb)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == verb)
			return verbs[i].mask;
	return 0;
}

void
cmdline_usage(FILE *f, enum cmdline_verb verb)
{
	unsigned mask = verb_mask(verb);

	if (!mask) {
		fprintf(f,
			"Usage: environment-runner COMMAND [FLAGS]\n"
			"       environment-runner --help | --version\n\n"
			"A self-hosted environment runner: it claims sessions of an environment\n"
			"from the control plane and runs their tools on this machine, in a\n"
			"sandbox chosen by plugin.\n\nCommands:\n");
		for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
			fprintf(f, "  %-14s %s\n", verbs[i].name, verbs[i].summary);
		fprintf(f,
			"\nRun 'environment-runner COMMAND --help' for the flags of a command.\n"
			"Every flag can also be set by an environment variable or a config file\n"
			"key; precedence: flag > environment > file > default.\n");
		return;
	}
	fprintf(f, "Usage: environment-runner %s%s%s%s\n\n", verb_name(verb),
		operand_name(verb) ? " " : "", operand_name(verb) ? operand_name(verb) : "",
		verb == CMDLINE_UPGRADE ? "" : " [FLAGS]");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == verb)
			fprintf(f, "%c%s.\n\nFlags (--flag=VALUE or --flag VALUE):\n",
				verbs[i].summary[0] - 'a' + 'A', verbs[i].summary + 1);
	for (const struct settings_def *d = settings_table; d->flag; d++) {
		char left[64];

		if (!(d->verbs & mask))
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", d->flag, d->metavar ? "=" : "",
			 d->metavar ? d->metavar : "");
		fprintf(f, "  %-32s %s\n", left, d->help);
		if (d->env || d->key)
			fprintf(f, "  %-32s   %s%s%s%s%s\n", "", d->env ? "env " : "",
				d->env ? d->env : "", d->env && d->key ? ", " : "",
				d->key ? "config " : "", d->key ? d->key : "");
	}
	fprintf(f, "  %-32s %s\n", "--help", "show this text");
	if (mask & SETTINGS_VERB_RUN_ITEM)
		fprintf(f,
			"\nThe item comes from the environment: ANTHROPIC_WORK_ID,\n"
			"ANTHROPIC_ENVIRONMENT_ID, ANTHROPIC_SESSION_ID, ANTHROPIC_WORK_SECRET or\n"
			"ANTHROPIC_WORK_SECRET_FILE (mode 0600 or stricter), "
			"ANTHROPIC_ENVIRONMENT_KEY\n"
			"(optional with a secret), ANTHROPIC_BASE_URL.  No poll, no ack.\n"
			"\nExit codes: 0 the session ended, 1 the session failed, 75 the lease was "
			"lost\n"
			"or a signal stopped the session; 64 usage, 66 missing input file,\n"
			"69 plugin unavailable, 70 internal error, 78 configuration error.\n");
	else if (mask & SETTINGS_VERB_ORCHESTRATOR)
		fprintf(f,
			"\nExit codes (sysexits): 64 usage, 66 missing input file, 69 plugin "
			"unavailable,\n70 internal error, 77 the key was refused, 78 configuration "
			"error.\nSignals: TERM or INT drains (a second one stops at once), HUP "
			"reopens the log\nfile and re-reads the service key file.\n");
}

static int
is_flag(const char *arg)
{
	return arg[0] == '-' && arg[1] == '-' && arg[2] != '\0';
}

static int
apply_file_pair(void *userdata, const char *key, const char *value, const char *where, char *err,
		size_t errlen)
{
	struct settings *s = userdata;
	const struct settings_def *d = settings_def_by_key(key);
	char msg[400];
	int r;

	/* "key =" leaves the default, as an empty variable does. */
	if (!*value && (d || settings_is_option_key(key)))
		return 0;
	if (!d) {
		if (settings_is_option_key(key)) {
			r = settings_set_option(s, key, value);
			if (r < 0)
				snprintf(err, errlen, "out of memory");
			return r;
		}
		snprintf(err, errlen,
			 "unknown key '%s'; fix: use a key listed in "
			 "sample-config/runner.conf, or NAME.KEY for a plugin option",
			 key);
		return -EINVAL;
	}
	r = settings_apply(s, d, value, msg, sizeof(msg));
	if (r < 0)
		snprintf(err, errlen, "%s: %s", key, msg);
	return r;
}

static int
apply_environment(struct settings *s, unsigned mask, char *err, size_t errlen)
{
	char msg[400];

	for (const struct settings_def *d = settings_table; d->flag; d++) {
		const char *v;
		int r;

		if (!d->env || !(d->verbs & mask) || d->type == SETTINGS_CONFIG)
			continue;
		v = settings_getenv(d->env);
		if (!v)
			continue;
		r = settings_apply(s, d, v, msg, sizeof(msg));
		if (r < 0) {
			snprintf(err, errlen, "%s: %s (or unset %s)", d->env, msg, d->env);
			return EX_CONFIG;
		}
	}
	return 0;
}

static int
apply_flags(struct settings *s, const struct flag_value *flags, size_t n, char *err, size_t errlen)
{
	char msg[400];
	int dirs_cleared = 0;

	for (size_t i = 0; i < n; i++) {
		const struct settings_def *d = flags[i].def;
		int r;

		if (d->type == SETTINGS_CONFIG)
			continue;
		if (d->type == SETTINGS_DIR_LIST && !dirs_cleared) {
			/* --plugin-dir replaces the file's plugin_dir lines. */
			for (int j = 0; j < s->n_plugin_dirs; j++)
				free(s->plugin_dirs[j]);
			s->n_plugin_dirs = 0;
			dirs_cleared = 1;
		}
		r = settings_apply(s, d, flags[i].value, msg, sizeof(msg));
		if (r < 0) {
			snprintf(err, errlen, "--%s: %s", d->flag, msg);
			return r == -ENOMEM ? EX_OSERR : EX_USAGE;
		}
	}
	return 0;
}

int
cmdline_parse(int argc, char **argv, struct settings *s, struct cmdline *ret, char *err,
	      size_t errlen)
{
	struct flag_value *flags = NULL;
	const char *config = NULL;
	enum cmdline_verb verb = CMDLINE_HELP;
	const char *name;
	unsigned mask = 0;
	size_t n = 0;
	int r;

	ret->file = NULL;
	if (argc < 2) {
		snprintf(err, errlen,
			 "missing command; fix: run 'environment-runner orchestrator "
			 "--environment-id ID --service-key-file FILE', or see "
			 "'environment-runner --help'");
		return EX_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		ret->verb = CMDLINE_HELP;
		ret->help_for = CMDLINE_HELP;
		if (argc > 2)
			for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
				if (strcmp(argv[2], verbs[i].name) == 0)
					ret->help_for = verbs[i].verb;
		return 0;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 ||
	    strcmp(name, "version") == 0) {
		ret->verb = CMDLINE_VERSION;
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(name, verbs[i].name) == 0) {
			verb = verbs[i].verb;
			mask = verbs[i].mask;
		}
	}
	if (!mask) {
		if (name[0] == '-')
			snprintf(err, errlen,
				 "'%s' before the command; fix: name the command first, "
				 "e.g. 'environment-runner orchestrator %s'",
				 name, name);
		else
			snprintf(err, errlen,
				 "unknown command '%s'; fix: use 'orchestrator', 'run-item', "
				 "'plugins', 'plugin-check', 'upgrade' or 'upgrade-check' (see "
				 "'environment-runner --help')",
				 name);
		return EX_USAGE;
	}

	flags = calloc((size_t)argc, sizeof(*flags));
	if (!flags) {
		snprintf(err, errlen, "out of memory");
		return EX_OSERR;
	}
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		const struct settings_def *d;
		const char *eq;
		char flag[64];
		size_t len;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			ret->verb = CMDLINE_HELP;
			ret->help_for = verb;
			r = 0;
			goto out;
		}
		if (!is_flag(arg) && operand_name(verb) && !ret->file) {
			ret->file = arg;
			continue;
		}
		if (!is_flag(arg)) {
			snprintf(err, errlen,
				 "unexpected argument '%s'; fix: flags start with '--' "
				 "(see 'environment-runner %s --help')",
				 arg, name);
			r = EX_USAGE;
			goto out;
		}
		eq = strchr(arg + 2, '=');
		len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
		d = NULL;
		if (len < sizeof(flag)) {
			memcpy(flag, arg + 2, len);
			flag[len] = '\0';
			d = settings_def_by_flag(flag);
		}
		if (!d || !(d->verbs & mask)) {
			snprintf(err, errlen,
				 "unknown flag '--%.*s' for '%s'; fix: see "
				 "'environment-runner %s --help'",
				 (int)(len > 60 ? 60 : len), arg + 2, name, name);
			r = EX_USAGE;
			goto out;
		}
		if (eq) {
			flags[n].value = eq + 1;
		} else if (d->type == SETTINGS_BOOL) {
			flags[n].value = "yes";
		} else if (i + 1 < argc && !is_flag(argv[i + 1])) {
			flags[n].value = argv[++i];
		} else {
			snprintf(err, errlen, "missing value for '--%s'; fix: --%s=%s", d->flag,
				 d->flag, d->metavar ? d->metavar : "VALUE");
			r = EX_USAGE;
			goto out;
		}
		flags[n].def = d;
		if (d->type == SETTINGS_CONFIG)
			config = flags[n].value;
		n++;
	}

	if (!config)
		config = settings_getenv("ER_CONFIG");
	if (config) {
		char msg[400];

		r = settings_apply(s, settings_def_by_flag("config"), config, msg, sizeof(msg));
		if (r < 0) {
			snprintf(err, errlen, "--config: %s", msg);
			r = EX_USAGE;
			goto out;
		}
		r = conffile_parse_file(config, apply_file_pair, s, err, errlen);
		if (r < 0) {
			r = (r == -ENOENT || r == -EACCES || r == -EISDIR) ? EX_NOINPUT : EX_CONFIG;
			goto out;
		}
	}
	r = apply_environment(s, mask, err, errlen);
	if (r)
		goto out;
	r = apply_flags(s, flags, n, err, errlen);
	if (r)
		goto out;
	if (verb == CMDLINE_PLUGIN_CHECK && !ret->file) {
		snprintf(err, errlen,
			 "missing plugin file; fix: 'environment-runner plugin-check "
			 "./sandbox-NAME.so' (or executor-NAME.so)");
		r = EX_USAGE;
		goto out;
	}
	if (verb == CMDLINE_UPGRADE && !ret->file) {
		snprintf(err, errlen,
			 "missing process id; fix: 'environment-runner upgrade PID', PID being the "
			 "runner's (systemd: systemctl show -p MainPID environment-runner)");
		r = EX_USAGE;
		goto out;
	}
	if (verb == CMDLINE_UPGRADE_CHECK && !ret->file) {
		snprintf(err, errlen,
			 "missing directory; fix: 'environment-runner upgrade-check DIR "
			 "[orchestrator flags]', DIR holding item records");
		r = EX_USAGE;
		goto out;
	}
	r = settings_finish(s, mask, err, errlen);
	if (r)
		goto out;
	ret->verb = verb;
	ret->help_for = verb;
out:
	free(flags);
	return r;
}
