/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the work secret (a poll answer's `secret`: base64 of
 * a JSON object with `sessions_token`).  Whatever is accepted must give a
 * non-empty token; the input is also fed to the base64 decoder alone.
 *
 *	tests/fuzz/fuzz_secret -max_total_time=60 tests/fuzz/corpus/secret
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char *token = NULL;
	char *raw = NULL;
	size_t rawlen = 0;
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	r = work_secret_sessions_token(s, &token);
	if (r == 0) {
		if (!token || !*token)
			abort();
		secret_free(token);
	} else if (token || (r != -EINVAL && r != -EBADMSG && r != -ENOMEM)) {
		abort();
	}
	if (base64_decode(s, size, &raw, &rawlen) == 0) {
		if (rawlen > size)
			abort();
		free(raw);
	}
	free(s);
	return 0;
}
