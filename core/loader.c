/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "loader.h"

#ifndef ER_PLUGIN_DIR
#define ER_PLUGIN_DIR "/usr/local/lib/environment-runner"
#endif

#define NAME_MAX_LEN 64

/* sizeof(struct er_plugin) and of the ops structs in ABI 1.0: anything
 * smaller cannot be a 1.x plugin.  Later minors only grow them. */
#define PLUGIN_V1_0_SIZE (offsetof(struct er_plugin, ops) + sizeof(const void *))
#define SANDBOX_V1_0_SIZE (offsetof(struct er_sandbox_ops, wrap) + sizeof(void (*)(void)))
#define EXECUTOR_V1_0_SIZE (offsetof(struct er_executor_ops, session_free) + sizeof(void (*)(void)))

const char *
loader_kind_to_string(uint32_t kind)
{
	switch (kind) {
	case ER_KIND_SANDBOX:
		return "sandbox";
	case ER_KIND_EXECUTOR:
		return "executor";
	default:
		return "unknown";
	}
}

int
loader_exit_code(int r)
{
	switch (r) {
	case 0:
		return 0;
	case -EINVAL:
	case -EPERM:
	case -ENOEXEC:
	case -EPROTO:
		return EX_CONFIG;
	case -ENOMEM:
		return EX_OSERR;
	case -ESRCH:
		return EX_NOUSER;
	default:
		return EX_UNAVAILABLE;
	}
}

static int
is_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN ||
	    !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(islower(c) || isdigit(c) || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int
env_is_1(const char *name)
{
	const char *v = settings_getenv(name);

	return v && strcmp(v, "1") == 0;
}

/* The name a file promises: "sandbox-none.so" -> "none" for kind sandbox.
 * NULL when the file name does not follow the pattern. */
static const char *
expected_name(const char *path, uint32_t kind, char *buf, size_t buflen)
{
	const char *base = strrchr(path, '/');
	const char *prefix = loader_kind_to_string(kind);
	size_t plen = strlen(prefix);
	size_t blen;

	base = base ? base + 1 : path;
	blen = strlen(base);
	if (blen <= plen + 1 + 3 || strncmp(base, prefix, plen) != 0 || base[plen] != '-' ||
	    strcmp(base + blen - 3, ".so") != 0)
		return NULL;
	if (blen - plen - 1 - 3 >= buflen)
		return NULL;
	memcpy(buf, base + plen + 1, blen - plen - 1 - 3);
	buf[blen - plen - 1 - 3] = '\0';
	return buf;
}

/* Regular file; as root, owned by root or us and not group/world-writable. */
static int
check_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (strlen(path) >= PATH_MAX) {
		snprintf(err, errlen, "plugin path too long: '%.80s...'", path);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int r = -errno;

		snprintf(err, errlen, "plugin '%s': cannot open: %s", path, strerror(-r));
		return r == -ENOENT ? -ENOENT : -EPERM;
	}
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		snprintf(err, errlen, "plugin '%s': cannot stat: %s", path, strerror(-r));
		return -EPERM;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "plugin '%s': not a regular file; fix: point at the .so file",
			 path);
		return -EPERM;
	}
	if (geteuid() == 0) {
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			snprintf(err, errlen,
				 "plugin '%s': unsafe owner uid %lu (the runner runs as "
				 "root); fix: chown root '%s'",
				 path, (unsigned long)st.st_uid, path);
			return -EPERM;
		}
		if (st.st_mode & (S_IWGRP | S_IWOTH)) {
			snprintf(err, errlen,
				 "plugin '%s': unsafe mode %04o, writable by group or "
				 "others (the runner runs as root); fix: chmod go-w '%s'",
				 path, (unsigned)(st.st_mode & 07777), path);
			return -EPERM;
		}
	}
	return 0;
}

/* The descriptor checks, in the order a reader would ask the questions. */
static int
check_descriptor(const char *path, void *dl, uint32_t kind, const struct er_plugin **ret_desc,
		 char *err, size_t errlen)
{
	const struct er_plugin *d;
	char namebuf[NAME_MAX_LEN + 1];
	const char *want;

	dlerror();
	d = dlsym(dl, ER_PLUGIN_SYMBOL_NAME);
	if (!d) {
		/* Tell a plugin of another ABI major from a file that is no plugin. */
		for (int major = 2; major <= 9; major++) {
			char sym[32];

			snprintf(sym, sizeof(sym), "er_plugin_v%d", major);
			if (dlsym(dl, sym)) {
				snprintf(err, errlen,
					 "plugin '%s': built for plugin ABI %d, this "
					 "runner speaks ABI %d; fix: use a build of the plugin for "
					 "ABI %d",
					 path, major, ER_ABI_MAJOR, ER_ABI_MAJOR);
				return -EPROTO;
			}
		}
		snprintf(err, errlen,
			 "plugin '%s': no symbol '%s', not an environment-runner "
			 "plugin; fix: define it with ER_PLUGIN_DEFINE()",
			 path, ER_PLUGIN_SYMBOL_NAME);
		return -ENOEXEC;
	}
	if (d->magic != ER_PLUGIN_MAGIC) {
		snprintf(err, errlen,
			 "plugin '%s': wrong magic 0x%08x in '%s' (expected 0x%08x); "
			 "fix: define the descriptor with ER_PLUGIN_DEFINE()",
			 path, (unsigned)d->magic, ER_PLUGIN_SYMBOL_NAME,
			 (unsigned)ER_PLUGIN_MAGIC);
		return -ENOEXEC;
	}
	if (d->abi_major != ER_ABI_MAJOR) {
		snprintf(err, errlen,
			 "plugin '%s': built for plugin ABI %u, this runner speaks "
			 "ABI %d; fix: rebuild the plugin against this runner's plugin.h",
			 path, (unsigned)d->abi_major, ER_ABI_MAJOR);
		return -EPROTO;
	}
	if (d->struct_size < PLUGIN_V1_0_SIZE) {
		snprintf(err, errlen,
			 "plugin '%s': descriptor struct_size %u is smaller than ABI "
			 "1.0's %zu; fix: define it with ER_PLUGIN_DEFINE()",
			 path, (unsigned)d->struct_size, (size_t)PLUGIN_V1_0_SIZE);
		return -ENOEXEC;
	}
	if (d->min_host_minor > ER_ABI_MINOR) {
		snprintf(err, errlen,
			 "plugin '%s': built for plugin ABI %d.%u, needs a runner with plugin ABI "
			 "%d.%u or later, this runner has %d.%d; fix: upgrade the runner, or "
			 "rebuild the plugin against this runner's plugin.h",
			 path, ER_ABI_MAJOR, (unsigned)d->abi_minor, ER_ABI_MAJOR,
			 (unsigned)d->min_host_minor, ER_ABI_MAJOR, ER_ABI_MINOR);
		return -EPROTO;
	}
	if (d->flags & ~ER_PLUGIN_FLAGS_KNOWN) {
		snprintf(err, errlen,
			 "plugin '%s': descriptor flags 0x%x unknown to this runner (plugin ABI "
			 "%d.%d, built for %d.%u); fix: upgrade the runner",
			 path, (unsigned)(d->flags & ~ER_PLUGIN_FLAGS_KNOWN), ER_ABI_MAJOR,
			 ER_ABI_MINOR, ER_ABI_MAJOR, (unsigned)d->abi_minor);
		return -EPROTO;
	}
	if (d->kind != kind) {
		snprintf(err, errlen,
			 "plugin '%s': wrong kind '%s' (%u) where a %s plugin was "
			 "expected; fix: select a %s plugin (files named '%s-NAME.so')",
			 path, loader_kind_to_string(d->kind), (unsigned)d->kind,
			 loader_kind_to_string(kind), loader_kind_to_string(kind),
			 loader_kind_to_string(kind));
		return -ENOEXEC;
	}
	want = expected_name(path, kind, namebuf, sizeof(namebuf));
	if (!want) {
		snprintf(err, errlen,
			 "plugin '%s': file name does not follow '%s-NAME.so'; fix: "
			 "rename the file",
			 path, loader_kind_to_string(kind));
		return -ENOEXEC;
	}
	if (!d->name || !is_valid_name(d->name) || strcmp(d->name, want) != 0) {
		snprintf(err, errlen,
			 "plugin '%s': name '%.64s' does not match the file name "
			 "(expected '%s'); fix: rename the file to '%s-%.64s.so'",
			 path, d->name ? d->name : "(null)", want, loader_kind_to_string(kind),
			 d->name ? d->name : "NAME");
		return -ENOEXEC;
	}
	if (!d->create || !d->ops) {
		snprintf(err, errlen,
			 "plugin '%s': descriptor without %s; fix: pass it to "
			 "ER_PLUGIN_DEFINE()",
			 path, !d->create ? "create" : "ops");
		return -ENOEXEC;
	}
	*ret_desc = d;
	return 0;
}

static int
check_executor_flags(const struct plugin *p, uint32_t flags, char *err, size_t errlen)
{
	if (!(flags & ~ER_EXECUTOR_FLAGS_KNOWN))
		return 0;
	snprintf(err, errlen,
		 "plugin '%s': executor flags 0x%x unknown to this runner (plugin ABI %d.%d, "
		 "built for %d.%u); fix: upgrade the runner",
		 p->path, (unsigned)(flags & ~ER_EXECUTOR_FLAGS_KNOWN), ER_ABI_MAJOR, ER_ABI_MINOR,
		 ER_ABI_MAJOR, (unsigned)p->desc.abi_minor);
	return -EPROTO;
}

static int
copy_ops(struct plugin *p, const struct er_plugin *d, char *err, size_t errlen)
{
	uint32_t size = *(const uint32_t *)d->ops;
	size_t host_size;
	size_t min_size;

	if (p->kind == ER_KIND_SANDBOX) {
		host_size = sizeof(p->ops.sandbox);
		min_size = SANDBOX_V1_0_SIZE;
	} else {
		host_size = sizeof(p->ops.executor);
		min_size = EXECUTOR_V1_0_SIZE;
	}
	if (size < min_size) {
		snprintf(err, errlen,
			 "plugin '%s': %s ops struct_size %u is smaller than ABI 1.0's "
			 "%zu; fix: set struct_size to sizeof(the ops struct)",
			 p->path, loader_kind_to_string(p->kind), (unsigned)size, min_size);
		return -ENOEXEC;
	}
	memset(&p->ops, 0, sizeof(p->ops));
	memcpy(&p->ops, d->ops, size < host_size ? size : host_size);
	p->ops_size = size;
	if (p->kind == ER_KIND_SANDBOX && !p->ops.sandbox.wrap) {
		snprintf(err, errlen, "plugin '%s': sandbox without wrap(); fix: implement wrap",
			 p->path);
		return -ENOEXEC;
	}
	if (p->kind == ER_KIND_EXECUTOR)
		return check_executor_flags(p, p->ops.executor.flags, err, errlen);
	return 0;
}

int
loader_open_path(const char *path, uint32_t kind, struct plugin **ret_plugin, char *err,
		 size_t errlen)
{
	const struct er_plugin *d = NULL;
	struct plugin *p;
	int r;

	if (kind != ER_KIND_SANDBOX && kind != ER_KIND_EXECUTOR) {
		snprintf(err, errlen, "plugin '%s': unknown kind %u", path, (unsigned)kind);
		return -EINVAL;
	}
	r = check_file(path, err, errlen);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(path))) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->kind = kind;
	dlerror();
	p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		const char *e = dlerror();

		snprintf(err, errlen,
			 "plugin '%s': cannot load: %s; fix: rebuild it against this "
			 "runner's plugin.h (check 'ldd' for missing libraries)",
			 path, e ? e : "unknown error");
		r = -ENOEXEC;
		goto fail;
	}
	r = check_descriptor(path, p->dl, kind, &d, err, errlen);
	if (r < 0)
		goto fail;
	p->desc_size = d->struct_size;
	memcpy(&p->desc, d, d->struct_size < sizeof(p->desc) ? d->struct_size : sizeof(p->desc));
	r = copy_ops(p, d, err, errlen);
	if (r < 0)
		goto fail;
	*ret_plugin = p;
	return 0;
fail:
	plugin_close(p);
	return r;
}

struct find_ctx {
	const char *file; /* "sandbox-none.so" */
	char *found;	  /* first existing path */
	char tried[1024]; /* for the not-found message */
	size_t tried_len;
	int oom;
};

static int
find_in_dir(void *userdata, const char *dir)
{
	struct find_ctx *c = userdata;
	char path[PATH_MAX];
	struct stat st;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, c->file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	if (c->tried_len < sizeof(c->tried) - 1) {
		n = snprintf(c->tried + c->tried_len, sizeof(c->tried) - c->tried_len, "%s%s",
			     c->tried_len ? ", " : "", dir);
		if (n > 0)
			c->tried_len += (size_t)n;
		if (c->tried_len >= sizeof(c->tried))
			c->tried_len = sizeof(c->tried) - 1;
	}
	if (lstat(path, &st) < 0)
		return 0;
	c->found = strdup(path);
	if (!c->found)
		c->oom = 1;
	return 1;
}

int
loader_for_each_dir(const struct settings *s, int (*cb)(void *userdata, const char *dir),
		    void *userdata)
{
	const char *env;
	int r;

	for (int i = 0; s && i < s->n_plugin_dirs; i++) {
		r = cb(userdata, s->plugin_dirs[i]);
		if (r)
			return r;
	}
	env = settings_getenv("ER_PLUGIN_PATH");
	while (env && *env) {
		const char *colon = strchr(env, ':');
		size_t n = colon ? (size_t)(colon - env) : strlen(env);
		char dir[PATH_MAX];

		if (n > 0 && n < sizeof(dir)) {
			memcpy(dir, env, n);
			dir[n] = '\0';
			r = cb(userdata, dir);
			if (r)
				return r;
		}
		env = colon ? colon + 1 : NULL;
	}
	/* The test suite runs without the installed plugins, whatever the
	 * machine has there. */
	if (env_is_1("ER_NO_SYSTEM_PLUGINS"))
		return 0;
	return cb(userdata, ER_PLUGIN_DIR);
}

int
loader_find_and_open(const struct settings *s, uint32_t kind, const char *name,
		     struct plugin **ret_plugin, char *err, size_t errlen)
{
	struct find_ctx c;
	char file[NAME_MAX_LEN + 32];
	int r;

	if (!name || !*name) {
		snprintf(err, errlen, "empty %s plugin name", loader_kind_to_string(kind));
		return -EINVAL;
	}
	if (strchr(name, '/'))
		return loader_open_path(name, kind, ret_plugin, err, errlen);
	if (!is_valid_name(name)) {
		snprintf(err, errlen,
			 "invalid %s plugin name '%.80s'; fix: names match "
			 "[a-z0-9][a-z0-9_-]*, or give a path containing '/'",
			 loader_kind_to_string(kind), name);
		return -EINVAL;
	}
	memset(&c, 0, sizeof(c));
	snprintf(file, sizeof(file), "%s-%s.so", loader_kind_to_string(kind), name);
	c.file = file;
	loader_for_each_dir(s, find_in_dir, &c);
	if (c.oom) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!c.found) {
		snprintf(err, errlen,
			 "%s plugin '%s' not found: no '%s' in %s; fix: install it, or "
			 "pass --plugin-dir DIR",
			 loader_kind_to_string(kind), name, file, c.tried);
		return -ENOENT;
	}
	r = loader_open_path(c.found, kind, ret_plugin, err, errlen);
	free(c.found);
	return r;
}

int
plugin_create(struct plugin *p, const struct er_host *host, void *host_ctx, char *err,
	      size_t errlen)
{
	struct er_error e;
	void *state = NULL;
	int r;

	if (p->created) {
		snprintf(err, errlen, "plugin '%s': created twice", p->path);
		return -EINVAL;
	}
	memset(&e, 0, sizeof(e));
	r = p->desc.create(host, host_ctx, &state, &e);
	if (r < 0) {
		e.msg[sizeof(e.msg) - 1] = '\0';
		snprintf(err, errlen, "plugin '%s': create failed: %s (%s)", p->path,
			 e.msg[0] ? e.msg : "no reason given", strerror(-r));
		return r;
	}
	if (r > 0) {
		snprintf(err, errlen, "plugin '%s': create returned %d, expected 0 or -errno",
			 p->path, r);
		if (p->desc.destroy)
			p->desc.destroy(state);
		return -EPROTO;
	}
	p->state = state;
	p->created = 1;
	/* An executor may choose its flags from its configuration in create():
	 * it returns them (ABI 1.2), or it wrote them into its ops (1.1). */
	if (p->kind == ER_KIND_EXECUTOR) {
		p->ops.executor.flags =
			p->ops.executor.get_flags
				? p->ops.executor.get_flags(state)
				: ((const struct er_executor_ops *)p->desc.ops)->flags;
		r = check_executor_flags(p, p->ops.executor.flags, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int
plugin_probe(struct plugin *p, char *err, size_t errlen)
{
	struct er_error e;
	int r;

	if (p->kind != ER_KIND_SANDBOX || !p->created || !p->ops.sandbox.probe)
		return 0;
	memset(&e, 0, sizeof(e));
	r = p->ops.sandbox.probe(p->state, &e);
	if (r < 0) {
		e.msg[sizeof(e.msg) - 1] = '\0';
		snprintf(err, errlen, "sandbox '%s' (%s) is not usable here: %s (%s)", p->desc.name,
			 p->path, e.msg[0] ? e.msg : "no reason given", strerror(-r));
		return r;
	}
	return 0;
}

void
plugin_destroy(struct plugin *p)
{
	if (!p || !p->created)
		return;
	if (p->desc.destroy)
		p->desc.destroy(p->state);
	p->state = NULL;
	p->created = 0;
}

void
plugin_close(struct plugin *p)
{
	if (!p)
		return;
	plugin_destroy(p);
	if (p->dl && !env_is_1("ER_NO_DLCLOSE"))
		dlclose(p->dl);
	free(p->path);
	free(p);
}

/* --- plugin options ------------------------------------------------------- */

/* More entries than this is a table without its terminator. */
#define OPTIONS_MAX 256

void
loader_for_each_option(const struct plugin *p, loader_option_cb cb, void *userdata)
{
	const struct er_option *o = p ? p->desc.options : NULL;

	for (int i = 0; o && i < OPTIONS_MAX && o[i].name; i++)
		cb(userdata, &o[i]);
}

struct option_match {
	const char *key;
	int found;
	struct buf list; /* the valid keys, for the message */
};

static void
match_option(void *userdata, const struct er_option *opt)
{
	struct option_match *m = userdata;

	if (strcmp(opt->name, m->key) == 0)
		m->found = 1;
	buf_printf(&m->list, "%s%s", m->list.len ? ", " : "", opt->name);
}

/* A shared key: "sandbox.network" for the row "sandbox_network". */
static int
is_sandbox_policy_key(const char *key)
{
	if (strncmp(key, "sandbox.", 8) != 0)
		return 0;
	for (const struct settings_def *d = settings_table; d->flag; d++)
		if (d->type == SETTINGS_POLICY && d->key && strcmp(d->key + 8, key + 8) == 0)
			return 1;
	return 0;
}

int
loader_check_options(const struct settings *s, const struct plugin *const *sandboxes,
		     size_t n_sandboxes, const struct plugin *executor, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->n_options; i++) {
		const char *key = s->options[i].key;
		struct option_match m = { key, 0, BUF_INIT(4096) };
		size_t name_len = strcspn(key, ".");
		int named = 0;

		if (is_sandbox_policy_key(key))
			continue;
		for (size_t k = 0; k <= n_sandboxes; k++) {
			const struct plugin *p = k < n_sandboxes ? sandboxes[k] : executor;

			if (p && p->desc.name && strlen(p->desc.name) == name_len &&
			    strncmp(p->desc.name, key, name_len) == 0)
				named = 1;
			loader_for_each_option(p, match_option, &m);
		}
		if (m.found) {
			buf_release(&m.list);
			continue;
		}
		snprintf(err, errlen,
			 "plugin option '%s': %s (sandbox '%s'%s%s%s, executor '%s'); fix: use one "
			 "of the keys they declare: %s",
			 key, named ? "no such key" : "names no selected plugin",
			 n_sandboxes ? sandboxes[0]->desc.name : "-",
			 n_sandboxes > 1 ? " or '" : "",
			 n_sandboxes > 1 ? sandboxes[1]->desc.name : "", n_sandboxes > 1 ? "'" : "",
			 executor ? executor->desc.name : "-", m.list.len ? m.list.data : "(none)");
		buf_release(&m.list);
		return -EINVAL;
	}
	return 0;
}

/* --- plugins listing ------------------------------------------------------ */

struct scan_ctx {
	loader_scan_cb cb;
	void *userdata;
	char **seen;	 /* file names already listed... */
	char **seen_dir; /* ...and the directory each came from */
	size_t n_seen;
	int oom;
};

static int
compare_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
scan_dir(void *userdata, const char *dir)
{
	struct scan_ctx *c = userdata;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *dh;

	dh = opendir(dir);
	if (!dh)
		return 0;
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		char **v;

		if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
			continue;
		if (strncmp(de->d_name, "sandbox-", 8) != 0 &&
		    strncmp(de->d_name, "executor-", 9) != 0)
			continue;
		v = realloc(names, (n + 1) * sizeof(*v));
		if (!v || !(v[n] = strdup(de->d_name))) {
			names = v ? v : names;
			c->oom = 1;
			break;
		}
		names = v;
		n++;
	}
	closedir(dh);
	if (n > 1)
		qsort(names, n, sizeof(*names), compare_str);
	for (size_t i = 0; i < n && !c->oom; i++) {
		char path[PATH_MAX];
		char err[LOADER_ERR_MAX];
		const char *shadowed_by = NULL;
		struct plugin *p = NULL;
		uint32_t kind = names[i][0] == 's' ? ER_KIND_SANDBOX : ER_KIND_EXECUTOR;
		char **v;
		char **vd;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path))
			continue;
		for (size_t j = 0; j < c->n_seen; j++)
			if (strcmp(c->seen[j], names[i]) == 0)
				shadowed_by = c->seen_dir[j];
		err[0] = '\0';
		if (loader_open_path(path, kind, &p, err, sizeof(err)) == 0) {
			c->cb(c->userdata, path, p, NULL, shadowed_by);
			plugin_close(p);
		} else {
			c->cb(c->userdata, path, NULL, err, shadowed_by);
		}
		if (shadowed_by)
			continue;
		v = realloc(c->seen, (c->n_seen + 1) * sizeof(*v));
		if (v)
			c->seen = v;
		vd = realloc(c->seen_dir, (c->n_seen + 1) * sizeof(*vd));
		if (vd)
			c->seen_dir = vd;
		if (!v || !vd || !(c->seen[c->n_seen] = strdup(names[i]))) {
			c->oom = 1;
			break;
		}
		if (!(c->seen_dir[c->n_seen] = strdup(dir))) {
			free(c->seen[c->n_seen]);
			c->oom = 1;
			break;
		}
		c->n_seen++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return c->oom;
}

int
loader_scan(const struct settings *s, loader_scan_cb cb, void *userdata)
{
	struct scan_ctx c;

	memset(&c, 0, sizeof(c));
	c.cb = cb;
	c.userdata = userdata;
	loader_for_each_dir(s, scan_dir, &c);
	for (size_t i = 0; i < c.n_seen; i++) {
		free(c.seen[i]);
		free(c.seen_dir[i]);
	}
	free(c.seen);
	free(c.seen_dir);
	return c.oom ? -ENOMEM : 0;
}
