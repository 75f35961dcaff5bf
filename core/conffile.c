/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "conffile.h"
#include "nbio.h"

static int
is_key_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Parse one line in place.  0 with *ret_key NULL for a blank or comment
 * line, 0 with key and value set, or -EINVAL with err filled. */
static int
parse_line(char *line, char **ret_key, char **ret_value, char *err, size_t errlen)
{
	char *p = trim(line);
	char *eq;
	char *key;
	char *value;

	if (*p == '\0' || *p == '#') {
		*ret_key = NULL;
		return 0;
	}
	eq = strchr(p, '=');
	if (!eq) {
		snprintf(err, errlen,
			 "expected 'key = value', found '%.60s'; fix: add '= value' "
			 "or comment the line out with '#'",
			 p);
		return -EINVAL;
	}
	*eq = '\0';
	key = trim(p);
	value = trim(eq + 1);
	if (*key == '\0') {
		snprintf(err, errlen, "missing key before '='; fix: write 'key = value'");
		return -EINVAL;
	}
	for (char *k = key; *k; k++) {
		if (!is_key_char((unsigned char)*k)) {
			snprintf(err, errlen,
				 "invalid key '%.60s'; fix: keys use only letters, "
				 "digits, '_', '-' and '.'",
				 key);
			return -EINVAL;
		}
	}
	for (char *v = value; *v; v++) {
		if ((unsigned char)*v < 0x20 && *v != '\t') {
			snprintf(err, errlen,
				 "control character in the value of '%s'; fix: remove it", key);
			return -EINVAL;
		}
	}
	if (*value == '"') {
		char *close = strchr(value + 1, '"');
		char *rest;

		if (!close) {
			snprintf(err, errlen,
				 "unterminated quote in the value of '%s'; fix: close "
				 "it with '\"'",
				 key);
			return -EINVAL;
		}
		*close = '\0';
		rest = trim(close + 1);
		if (*rest && *rest != '#') {
			snprintf(err, errlen,
				 "text after the quoted value of '%s'; fix: put it "
				 "inside the quotes or after '#'",
				 key);
			return -EINVAL;
		}
		value++;
	} else {
		/* An unquoted value ends at " #" or "\t#". */
		for (char *v = value; *v; v++) {
			if (*v == '#' && v > value && (v[-1] == ' ' || v[-1] == '\t')) {
				*v = '\0';
				value = trim(value);
				break;
			}
		}
	}
	*ret_key = key;
	*ret_value = value;
	return 0;
}

int
conffile_parse_buffer(const char *text, size_t len, const char *name, conffile_cb cb,
		      void *userdata, char *err, size_t errlen)
{
	char line[CONFFILE_MAX_LINE + 1];
	char where[512];
	char msg[512];
	unsigned lineno = 0;
	size_t pos = 0;

	if (len > CONFFILE_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %u bytes; fix: shorten it", name,
			 CONFFILE_MAX_FILE);
		return -EFBIG;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *key;
		char *value;
		int r;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", name, lineno);
		if (n > CONFFILE_MAX_LINE) {
			snprintf(err, errlen, "%s: line longer than %d bytes; fix: shorten it",
				 where, CONFFILE_MAX_LINE);
			return -EINVAL;
		}
		if (memchr(text + pos, '\0', n)) {
			snprintf(err, errlen, "%s: NUL byte; fix: the file must be text", where);
			return -EINVAL;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		msg[0] = '\0';
		r = parse_line(line, &key, &value, msg, sizeof(msg));
		if (r == 0 && key)
			r = cb(userdata, key, value, where, msg, sizeof(msg));
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", where, msg[0] ? msg : strerror(-r));
			return r;
		}
	}
	return 0;
}

int
conffile_parse_file(const char *path, conffile_cb cb, void *userdata, char *err, size_t errlen)
{
	struct buf b = BUF_INIT(CONFFILE_MAX_FILE);
	int fd;
	int r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen,
			 "cannot open config file '%s': %s; fix: check the path given "
			 "to --config or ER_CONFIG",
			 path, strerror(-r));
		return r;
	}
	r = nbio_read_all(fd, nbio_buf_append, &b);
	if (r == -ENOSPC) {
		snprintf(err, errlen, "config file '%s' is larger than %u bytes; fix: shorten it",
			 path, CONFFILE_MAX_FILE);
		r = -EFBIG;
		goto out;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot read config file '%s': %s", path, strerror(-r));
		goto out;
	}
	r = conffile_parse_buffer(b.data ? b.data : "", b.len, path, cb, userdata, err, errlen);
out:
	buf_release(&b);
	close(fd);
	return r;
}
