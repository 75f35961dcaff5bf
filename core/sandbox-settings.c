/* SPDX-License-Identifier: MIT */
/*
 * The --sandbox-* settings as every sandbox backend gets them (plugin ABI
 * 1.2, host->sandbox_settings()): checked, typed, with their defaults, and
 * the sandbox's user looked up.  One copy of these rules for every backend.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "sandbox-settings.h"
#include "strv.h"

#define MIB (UINT64_C(1) << 20)
#define DEFAULT_PROCS 1024
#define DEFAULT_FILES 1024
#define DEFAULT_FILE_SIZE_MB 16384
#define DEFAULT_MEMORY_MB 4096

const char *const sandbox_env_allowlist[] = {
	"TERM",	      "TZ",	     "LANG",	    "LANGUAGE",	  "LC_ALL",  "LC_CTYPE",
	"LC_COLLATE", "LC_MESSAGES", "LC_MONETARY", "LC_NUMERIC", "LC_TIME", NULL,
};

static int __attribute__((format(printf, 3, 4)))
fail(struct er_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* `value` split at `sep` into `list`, empty items dropped; with
 * `absolute`, each must be an absolute path. */
static int
split(const char *key, const char *value, char sep, int absolute, struct strv *list,
      struct er_error *err)
{
	const char seps[] = { sep, '\0' };

	for (const char *p = value ? value : ""; *p; p += *p ? 1 : 0) {
		size_t n = strcspn(p, seps);
		char *item;

		if (n == 0)
			continue;
		if (absolute && p[0] != '/')
			return fail(err, -EINVAL,
				    "%s: '%.*s' is not an absolute path; fix: give absolute paths "
				    "separated by '%c'",
				    key, (int)n, p, sep);
		item = strndup(p, n);
		if (!item || strv_push_take(list, item) < 0)
			return fail(err, -ENOMEM, "out of memory");
		p += n;
	}
	return 0;
}

static int
number(const char *key, const char *value, uint64_t def, uint64_t *ret, struct er_error *err)
{
	unsigned long long n;
	char *end;

	if (!value) {
		*ret = def;
		return 0;
	}
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-')
		return fail(err, -EINVAL, "invalid %s '%s'; fix: give a number", key, value);
	*ret = (uint64_t)n;
	return 0;
}

/* "USER[:GROUP]", names or numbers, into out->uid and out->gid. */
static int
lookup_user(const char *spec, struct er_sandbox_settings *out, char *name, size_t namelen,
	    struct er_error *err)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	struct passwd *pw;
	char *end;

	if (n == 0 || n >= namelen)
		return fail(err, -EINVAL, "invalid sandbox user '%s'; fix: give USER[:GROUP]",
			    spec);
	memcpy(name, spec, n);
	name[n] = '\0';
	pw = getpwnam(name);
	if (pw) {
		out->uid = (uint32_t)pw->pw_uid;
		out->gid = (uint32_t)pw->pw_gid;
	} else {
		unsigned long v = strtoul(name, &end, 10);

		if (*end || end == name || v >= UINT32_MAX)
			return fail(
				err, -ESRCH,
				"no user '%s' for the sandbox; fix: create it (useradd --system "
				"--no-create-home %s) or pass --sandbox-user",
				name, name);
		out->uid = out->gid = (uint32_t)v;
	}
	if (colon) {
		struct group *gr = getgrnam(colon + 1);
		unsigned long v;

		if (gr) {
			out->gid = (uint32_t)gr->gr_gid;
		} else {
			v = strtoul(colon + 1, &end, 10);
			if (*end || end == colon + 1 || v >= UINT32_MAX)
				return fail(
					err, -ESRCH,
					"no group '%s' for the sandbox; fix: create it (groupadd "
					"--system %s) or pass --sandbox-user",
					colon + 1, colon + 1);
			out->gid = (uint32_t)v;
		}
	}
	if (out->uid == 0 || out->gid == 0)
		return fail(err, -EPERM,
			    "the sandbox user must not be root (uid or gid 0); fix: pass "
			    "--sandbox-user with an unprivileged user");
	return 0;
}

/* Resolved once: the settings do not change while the runner runs. */
static struct {
	int done;
	int code;
	struct er_error err;
	struct er_sandbox_settings v;
	struct strv domains, ro, rw, deny;
	char user[64];
} cache;

static int
resolve(const struct settings *s, struct er_error *err)
{
	struct er_sandbox_settings *v = &cache.v;
	const char *net = settings_get_option(s, "sandbox.network");
	const char *spec = settings_get_option(s, "sandbox.user");
	uint64_t mb;
	int r;

	memset(v, 0, sizeof(*v));
	v->struct_size = sizeof(*v);
	if (!net || strcmp(net, "none") == 0)
		v->network = ER_NETWORK_NONE;
	else if (strcmp(net, "host") == 0)
		v->network = ER_NETWORK_HOST;
	else if (strcmp(net, "allowlist") == 0)
		v->network = ER_NETWORK_ALLOWLIST;
	else
		return fail(err, -EINVAL,
			    "invalid sandbox.network '%s'; fix: give none, host or allowlist", net);
	r = split("sandbox.allowed_domains", settings_get_option(s, "sandbox.allowed_domains"), ',',
		  0, &cache.domains, err);
	r = r
		    ?: split("sandbox.read_only", settings_get_option(s, "sandbox.read_only"), ':',
			     1, &cache.ro, err);
	r = r
		    ?: split("sandbox.read_write", settings_get_option(s, "sandbox.read_write"),
			     ':', 1, &cache.rw, err);
	r = r
		    ?: split("sandbox.deny", settings_get_option(s, "sandbox.deny"), ':', 1,
			     &cache.deny, err);
	/* The items' records hold their sessions tokens: no session reads
	 * them, under any backend (unless they hold its own directory). */
	if (r == 0 && s->state_dir &&
	    !(s->base_dir && fsutil_is_within(s->state_dir, s->base_dir)) &&
	    !(s->workdir && fsutil_is_within(s->state_dir, s->workdir)) &&
	    strv_push(&cache.deny, s->state_dir) < 0)
		r = -ENOMEM;
	r = r
		    ?: number("sandbox.max_procs", settings_get_option(s, "sandbox.max_procs"),
			      DEFAULT_PROCS, &v->max_procs, err);
	r = r
		    ?: number("sandbox.max_open_files",
			      settings_get_option(s, "sandbox.max_open_files"), DEFAULT_FILES,
			      &v->max_open_files, err);
	r = r
		    ?: number("sandbox.max_file_size_mb",
			      settings_get_option(s, "sandbox.max_file_size_mb"),
			      DEFAULT_FILE_SIZE_MB, &mb, err);
	if (r < 0)
		return r;
	v->max_file_size = mb ? mb * MIB : ER_RLIM_INFINITY;
	r = number("sandbox.memory_mb", settings_get_option(s, "sandbox.memory_mb"),
		   DEFAULT_MEMORY_MB, &mb, err);
	if (r < 0)
		return r;
	v->memory = mb * MIB;
	v->allowed_domains = (const char *const *)strv_array(&cache.domains);
	v->read_only = (const char *const *)strv_array(&cache.ro);
	v->read_write = (const char *const *)strv_array(&cache.rw);
	v->deny = (const char *const *)strv_array(&cache.deny);
	v->service_key_file = s->service_key_file;
	v->base_dir = s->base_dir;
	v->user = cache.user;
	if (geteuid() != 0) {
		/* A runner that is not root cannot switch users: its commands
		 * run as itself, which it can do already. */
		v->uid = (uint32_t)geteuid();
		v->gid = (uint32_t)getegid();
		snprintf(cache.user, sizeof(cache.user), "uid %u", (unsigned)v->uid);
		return 0;
	}
	if (!spec)
		spec = getpwnam("environment-runner") ? "environment-runner" : "nobody";
	r = lookup_user(spec, v, cache.user, sizeof(cache.user), err);
	if (r < 0)
		return r;
	v->switch_user = 1;
	return 0;
}

void
sandbox_settings_forget(void)
{
	strv_release(&cache.domains);
	strv_release(&cache.ro);
	strv_release(&cache.rw);
	strv_release(&cache.deny);
	memset(&cache, 0, sizeof(cache));
}

int
sandbox_settings_get(const struct settings *s, struct er_sandbox_settings *out,
		     struct er_error *err)
{
	uint32_t size;

	if (!out || out->struct_size < sizeof(uint32_t))
		return fail(err, -EINVAL, "sandbox_settings: set struct_size first");
	if (!cache.done) {
		cache.code = resolve(s, &cache.err);
		cache.done = 1;
	}
	if (cache.code < 0) {
		if (err)
			*err = cache.err;
		return cache.code;
	}
	size = out->struct_size < sizeof(cache.v) ? out->struct_size : (uint32_t)sizeof(cache.v);
	memcpy(out, &cache.v, size);
	out->struct_size = size;
	return 0;
}
