/* SPDX-License-Identifier: MIT */
/*
 * The `--on-work` contract (onwork.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_MEMFD_CREATE
#include <sys/mman.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include "jsonw.h"
#include "onwork.h"
#include "wipe.h"

static int
push_var(char **env, size_t *n, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *e = malloc(len);

	if (!e)
		return -ENOMEM;
	snprintf(e, len, "%s=%s", name, value);
	env[(*n)++] = e;
	env[*n] = NULL;
	return 0;
}

int
onwork_env(const struct onwork_item *item, char *env[ONWORK_ENV_MAX + 1])
{
	size_t n = 0;
	int r;

	env[0] = NULL;
	r = push_var(env, &n, "ANTHROPIC_WORK_ID", item->work_id ? item->work_id : "");
	if (r == 0)
		r = push_var(env, &n, "ANTHROPIC_ENVIRONMENT_ID",
			     item->environment_id ? item->environment_id : "");
	if (r == 0 && item->session_id)
		r = push_var(env, &n, "ANTHROPIC_SESSION_ID", item->session_id);
	if (r == 0 && item->base_url)
		r = push_var(env, &n, "ANTHROPIC_BASE_URL", item->base_url);
	if (r == 0 && item->work_secret)
		r = push_var(env, &n, "ANTHROPIC_WORK_SECRET", item->work_secret);
	if (r == 0 && item->work_secret_fd >= 0) {
		char path[32];

		snprintf(path, sizeof(path), "/dev/fd/%d", item->work_secret_fd);
		r = push_var(env, &n, "ANTHROPIC_WORK_SECRET_FILE", path);
	}
	if (r == 0 && item->environment_key)
		r = push_var(env, &n, "ANTHROPIC_ENVIRONMENT_KEY", item->environment_key);
	if (r < 0)
		onwork_env_free(env);
	return r;
}

void
onwork_env_free(char **env)
{
	for (size_t i = 0; env[i]; i++) {
		secret_free(env[i]);
		env[i] = NULL;
	}
}

int
onwork_input(struct buf *b, const char *work_json, size_t len, const char *secret)
{
	int r;

	buf_init(b, ONWORK_INPUT_MAX);
	if (!work_json || len < 2 || work_json[len - 1] != '}')
		return -EINVAL;
	r = buf_append(b, work_json, len - 1);
	if (r == 0 && secret) {
		struct jsonw jw;
		struct buf str = BUF_INIT(ONWORK_INPUT_MAX);

		jw_init(&jw, &str);
		jw_string(&jw, secret);
		r = jw_finish(&jw);
		if (r == 0 && len > 2)
			r = buf_putc(b, ',');
		if (r == 0)
			r = buf_puts(b, "\"secret\":");
		if (r == 0)
			r = buf_append(b, str.data, str.len);
		secret_wipe(str.data, str.len);
		buf_release(&str);
	}
	if (r == 0)
		r = buf_puts(b, "}\n");
	return r;
}

static int
open_nameless(const char *dir)
{
	struct buf path = BUF_INIT(4096);
	int fd;

#ifdef HAVE_MEMFD_CREATE
	fd = memfd_create("work-secret", MFD_CLOEXEC);
	if (fd >= 0 || errno != ENOSYS)
		return fd < 0 ? -errno : fd;
#endif
	if (buf_printf(&path, "%s/.command-secret-XXXXXX", dir) < 0)
		return -ENOMEM;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fd = -errno;
	} else {
		fd = mkstemp(path.data);
		if (fd < 0) {
			fd = -errno;
		} else {
			unlink(path.data);
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		}
	}
	buf_release(&path);
	return fd;
}

int
onwork_secret_file(const char *private_dir, const char *workdir, const char *secret)
{
	size_t len = strlen(secret);
	struct stat st;
	int fd = open_nameless(private_dir);

	if (fd < 0)
		return fd;
	errno = EIO;
	if (write(fd, secret, len) != (ssize_t)len || stat(workdir, &st) < 0 ||
	    (st.st_uid != geteuid() && fchown(fd, st.st_uid, st.st_gid) < 0) ||
	    fchmod(fd, 0400) < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}
