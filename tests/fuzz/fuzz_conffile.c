/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the config file: the parser (core/conffile.c) and
 * every value it hands over applied to the settings as `--config` does
 * (unknown keys refused, NAME.KEY plugin options, each setting's own
 * validation).  A refusal must come with a message naming the line.
 *
 *	tests/fuzz/fuzz_conffile -max_total_time=60 tests/fuzz/corpus/conffile
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
apply_pair(void *userdata, const char *key, const char *value, const char *where, char *err,
	   size_t errlen)
{
	struct settings *s = userdata;
	const struct settings_def *d = settings_def_by_key(key);
	char msg[400];
	int r;

	if (!key || !value || !where || strncmp(where, "fuzz.conf:", 10) != 0)
		abort();
	if (!d) {
		if (settings_is_option_key(key))
			return settings_set_option(s, key, value);
		snprintf(err, errlen, "unknown key '%s'", key);
		return -EINVAL;
	}
	/* --config inside a config file is not a file setting. */
	if (d->type == SETTINGS_CONFIG)
		return 0;
	r = settings_apply(s, d, value, msg, sizeof(msg));
	if (r < 0)
		snprintf(err, errlen, "%s: %s", key, msg);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings s;
	char err[1024];
	int r;

	settings_init(&s);
	err[0] = '\0';
	r = conffile_parse_buffer((const char *)data, size, "fuzz.conf", apply_pair, &s, err,
				  sizeof(err));
	if (r > 0)
		abort();
	if (r < 0 && r != -ENOMEM && strncmp(err, "fuzz.conf", 9) != 0)
		abort();
	settings_release(&s);
	return 0;
}
