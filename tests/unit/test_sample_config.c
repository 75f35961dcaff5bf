/* SPDX-License-Identifier: MIT */
/* sample-config/runner.conf against the table of settings: every key of
 * the table is in the file exactly once, as a commented-out line "#key =
 * DEFAULT" whose value is the true default: the initial value of a number
 * or switch, the "(default X)" of its help otherwise, or empty where the
 * default is no value or computed at start.  The file, uncommented, is a
 * valid configuration. */
#include "config.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "settings.h"

/* The value the help text names as the default, or "" for none or one
 * described in words ("claude on PATH", "<hostname>-...", "$VAR"). */
static void
help_default(const char *help, char *out, size_t outlen)
{
	const char *p = strstr(help, "(default ");
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	p += strlen("(default ");
	n = strcspn(p, "),; ");
	if (n == 0 || n >= outlen || strchr("-$<", p[0]))
		return;
	if (p[n - 1] == ':') /* "(default 0: never)" */
		n--;
	else if (p[n] == ' ') /* words, not a value */
		return;
	memcpy(out, p, n);
	out[n] = '\0';
}

static int
is_number_type(const struct settings_def *d)
{
	return d->type == SETTINGS_INT || d->type == SETTINGS_BOOL || d->type == SETTINGS_MINUTES;
}

static void
check_default(const struct settings_def *d, const char *value)
{
	struct settings init;
	struct settings shown;
	char want[128];
	char err[512];

	settings_init(&init);
	settings_init(&shown);
	if (is_number_type(d) && *(int *)(void *)((char *)&init + d->offset) >= 0) {
		if (settings_apply(&shown, d, value, err, sizeof(err)) < 0)
			fail_msg("runner.conf: %s = '%s': %s", d->key, value, err);
		if (*(int *)(void *)((char *)&init + d->offset) !=
		    *(int *)(void *)((char *)&shown + d->offset))
			fail_msg("runner.conf: %s = '%s' is not the default (%d)", d->key, value,
				 *(int *)(void *)((char *)&init + d->offset));
	} else {
		help_default(d->help, want, sizeof(want));
		if (strcmp(value, want) != 0)
			fail_msg("runner.conf: %s = '%s', but the default is '%s' (help: %s)",
				 d->key, value, want, d->help);
	}
	settings_release(&shown);
	settings_release(&init);
}

static void
test_every_key_with_its_default(void **state)
{
	const char *top = getenv("ER_TOP_SRCDIR");
	char path[4096];
	char line[1024];
	int seen[256] = { 0 };
	int n_rows = 0;
	FILE *f;

	(void)state;
	for (const struct settings_def *d = settings_table; d->flag; d++)
		n_rows++;
	assert_true(n_rows < 256);
	if (!top)
		skip();
	snprintf(path, sizeof(path), "%s/sample-config/runner.conf", top);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		const struct settings_def *d;
		char *key = line + 1;
		char *eq;
		char *value;
		size_t n;

		/* "#key = value": a setting; "# words" is prose. */
		if (line[0] != '#' || !islower((unsigned char)line[1]))
			continue;
		eq = strstr(line, " =");
		assert_non_null(eq);
		*eq = '\0';
		value = eq + 2;
		while (*value == ' ')
			value++;
		n = strlen(value);
		while (n > 0 && (value[n - 1] == '\n' || value[n - 1] == ' '))
			value[--n] = '\0';
		if (settings_is_option_key(key))
			continue;
		d = settings_def_by_key(key);
		if (!d)
			fail_msg("runner.conf: '%s' is not a setting", key);
		seen[d - settings_table]++;
#ifndef ER_DEFAULT_SANDBOX_FALLBACK
		if (d->type == SETTINGS_SANDBOX)
			continue; /* the file shows Linux's default, chosen at start */
#endif
		check_default(d, value);
	}
	fclose(f);
	for (const struct settings_def *d = settings_table; d->flag; d++)
		if (d->key && seen[d - settings_table] != 1)
			fail_msg("runner.conf lists '%s' %d times, not once", d->key,
				 seen[d - settings_table]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_with_its_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
