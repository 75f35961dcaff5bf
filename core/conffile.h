/* SPDX-License-Identifier: MIT */
/*
 * The config file (named conffile, not config, so as not to shadow
 * autoconf's config.h): one `key = value` per line.
 *
 *   # a comment line
 *   environment_id = env_0123            # a comment after whitespace
 *   log_file = "/var/log/runner log"     # quotes keep spaces and '#'
 *   bubblewrap.bwrap = /usr/bin/bwrap    # plugin option: NAME.KEY
 *
 * Blank lines and lines starting with '#' are skipped; whitespace around
 * keys and values is trimmed; a value may be wrapped in double quotes (no
 * escapes inside).  Anything else (no '=', an empty key, a key with other
 * characters than [A-Za-z0-9_.-], an unterminated quote) is an error that
 * names FILE:LINE and the fix.  What keys mean is the caller's business: the
 * parser hands each pair to a callback.
 */
#ifndef ER_CONFFILE_H
#define ER_CONFFILE_H

#include <stddef.h>

#define CONFFILE_MAX_FILE (1u << 20)
#define CONFFILE_MAX_LINE 4096

/* Called once per pair, in file order.  `where` is "FILE:LINE".  Return 0 to
 * go on, or -errno with a message in `err` (without the location: the parser
 * prefixes `where`). */
typedef int (*conffile_cb)(void *userdata, const char *key, const char *value, const char *where,
			   char *err, size_t errlen);

/*
 * Parse the file at `path`.  Returns 0; -errno from open/read (err says
 * which file); -EINVAL for a malformed line, -EFBIG past CONFFILE_MAX_FILE, or
 * the callback's negative value, with "FILE:LINE: ..." in `err`.
 */
int conffile_parse_file(const char *path, conffile_cb cb, void *userdata, char *err, size_t errlen);

/* The same over a buffer; `name` stands for the file in messages. */
int conffile_parse_buffer(const char *text, size_t len, const char *name, conffile_cb cb,
			  void *userdata, char *err, size_t errlen);

#endif
