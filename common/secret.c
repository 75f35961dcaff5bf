/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include "base64.h"
#include "buf.h"
#include "http-header.h"
#include "json.h"
#include "secret.h"
#include "utf8.h"

int
secret_protect_process(void)
{
#if defined(HAVE_SYS_PRCTL_H) && HAVE_DECL_PR_SET_DUMPABLE
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
#else
	return -ENOSYS;
#endif
}

/* UTF-8 decoding as Node's Buffer.toString('utf8'): every ill-formed
 * sequence becomes U+FFFD. */
static int
utf8_replace_invalid(const char *s, size_t n, struct buf *out)
{
	static const char repl[] = "\xEF\xBF\xBD";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	int r;

	while (i < n) {
		int32_t cp;
		size_t k = utf8_decode(u + i, n - i, &cp);

		if (cp < 0)
			r = buf_append(out, repl, 3);
		else
			r = buf_append(out, s + i, k);
		if (r < 0)
			return r;
		i += k;
	}
	return 0;
}

int
work_secret_sessions_token(const char *secret, char **ret_token)
{
	struct buf text = BUF_INIT(JSON_MAX_INPUT);
	struct json_doc *doc = NULL;
	const char *token;
	char *raw = NULL;
	char *copy;
	size_t rawlen = 0;
	int r;

	if (!secret || !ret_token)
		return -EINVAL;
	r = base64_decode(secret, strlen(secret), &raw, &rawlen);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	r = utf8_replace_invalid(raw, rawlen, &text);
	secret_wipe(raw, rawlen);
	free(raw);
	if (r < 0) {
		r = r == -ENOMEM ? r : -EINVAL;
		goto out;
	}
	r = json_parse(text.data ? text.data : "", text.len, &doc, NULL, 0);
	if (r < 0) {
		r = r == -ENOMEM ? r : -EINVAL;
		goto out;
	}
	token = json_get_str(doc, 0, "sessions_token");
	if (json_kind(doc, 0) != JSON_OBJECT || !token || !*token) {
		r = -EINVAL;
		goto out;
	}
	/* It becomes a header value: a CR or LF would inject headers. */
	if (!http_header_value_valid(token)) {
		r = -EBADMSG;
		goto out;
	}
	copy = strdup(token);
	if (!copy) {
		r = -ENOMEM;
		goto out;
	}
	*ret_token = copy;
	r = 0;
out:
	json_free(doc);
	if (text.data)
		secret_wipe(text.data, text.len);
	buf_release(&text);
	return r;
}
