/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive.h"
#include "fsutil.h"
#include "json.h"
#include "nbio.h"
#include "rand.h"
#include "skills.h"
#include "strv.h"

extern char **environ;

/* What `unzip` or `tar` may print (the SDK's ARCHIVE_TOOL_OUTPUT_LIMIT). */
#define TOOL_OUTPUT_LIMIT (1024u * 1024u)
/* No archive tool runs longer than this. */
#define TOOL_TIMEOUT_MS 300000u
/* How often the staging folder is measured during an extraction. */
#define WATCHDOG_MS 100u
#define INCONSISTENT_LISTING "skill archive listing is inconsistent; refusing to extract"

/* The programs GNU tar or bsdtar may start to read a compressed archive
 * (the SDK's ARCHIVE_TOOL_HELPERS): none of them may lead inside the
 * workdir either. */
static const char *const tool_helpers[] = {
	"bzip2", "compress", "grzip", "gzip", "lrzip", "lz4", "lzip", "lzma", "lzop", "xz", "zstd",
};

struct skill_ref {
	char *skill_id;
	char *version;
};

struct job {
	struct skill_ref *ref;
	char *version_id;
	char *dest;	 /* for messages: the skill's folder */
	char *dest_name; /* its name in the skills folder */
	char *work_name; /* the owner-only staging folder beside dest */
	int work_fd;
	char *work;    /* a path to it that no swapped folder can redirect */
	char *archive; /* work/archive */
	char *stage;   /* work/stage */
	int fd;	       /* the archive being downloaded, or -1 */
	uint64_t bytes;
	int dest_ready;
	int too_big;
	enum archive_tool tool;
	const char *cmd; /* "unzip" or "tar" */
	char *tool_path;
	char *search_path; /* PATH of the tool's environment, or NULL */
	char *names;
	struct archive_listing listing;
	char *top;

	/* The archive tool running now. */
	struct proc *proc;
	int pfd[2];
	struct loop_watch *watch[2];
	struct buf out[2]; /* stdout, stderr */
	int exited;
	int status;
	int over_limit;
	int over_size;
	int timed_out;
	struct loop_timer *proc_timer;
	struct loop_timer *watchdog;
	void (*proc_done)(struct skills *sk);
};

struct skills {
	struct loop *loop;
	struct api *api;
	struct spawner *sp;
	struct proc_group *group;
	char *workdir;
	char *token;
	const struct log_ctx *ctx;
	uint64_t max_bytes;
	char *skills_root;
	int root_fd; /* skills_root, opened without following a link */
	/* A root runner hands what it installs to the owner of the workdir
	 * (the sandbox's user); its staging folders stay its own. */
	int chown;
	uid_t uid;
	gid_t gid;
	struct skill_ref *refs;
	size_t n_refs;
	size_t next;
	struct strv created; /* names in skills_root */
	skills_done_cb done;
	void *userdata;
	struct loop_timer *timer;
	struct api_call *call;
	struct job job;
	int active; /* a job is in progress */
};

static void next_skill(void *userdata);

/* ---- the current job ---------------------------------------------------- */

/*
 * A path to the folder open as `fd` for the archive tools and the checks:
 * on Linux through /proc/self/fd, which names the folder itself (the tools
 * get the fd at the same number), so that a folder of the path swapped for
 * a link cannot redirect them; elsewhere its path.
 */
static char *
job_path(int fd, const char *dir, const char *name)
{
#ifdef __linux__
	char path[64];

	(void)dir;
	(void)name;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return strdup(path);
#else
	(void)fd;
	return fsutil_resolve(dir, name);
#endif
}

static void
proc_stop(struct job *j)
{
	for (int i = 0; i < 2; i++) {
		loop_unwatch(j->watch[i]);
		j->watch[i] = NULL;
		if (j->pfd[i] >= 0)
			close(j->pfd[i]);
		j->pfd[i] = -1;
		buf_release(&j->out[i]);
	}
	proc_release(j->proc);
	j->proc = NULL;
	loop_cancel_timer(j->proc_timer);
	j->proc_timer = NULL;
	loop_cancel_timer(j->watchdog);
	j->watchdog = NULL;
}

static void
job_release(struct skills *sk)
{
	struct job *j = &sk->job;

	proc_stop(j);
	if (j->fd >= 0)
		close(j->fd);
	if (j->work_name)
		fsutil_remove_tree_at(sk->root_fd, j->work_name);
	if (j->work_fd >= 0)
		close(j->work_fd);
	free(j->version_id);
	free(j->dest);
	free(j->dest_name);
	free(j->work_name);
	free(j->work);
	free(j->archive);
	free(j->stage);
	free(j->tool_path);
	free(j->search_path);
	free(j->names);
	free(j->top);
	archive_listing_release(&j->listing);
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->work_fd = -1;
	j->pfd[0] = j->pfd[1] = -1;
}

static void
job_failed(struct skills *sk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
job_failed(struct skills *sk, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(LOG_LEVEL_WARNING, "skills", sk->ctx, "failed to download skill '%s': %s",
		 sk->job.ref->skill_id, msg);
	job_release(sk);
	sk->active = 0;
	next_skill(sk);
}

/* ---- finding the archive tools (the SDK's findExecutable) ------------------ */

static int
is_inside_workdir(const struct skills *sk, const char *real)
{
	char *root = realpath(sk->workdir, NULL);
	int r;

	if (!root)
		return -errno;
	r = fsutil_is_within_folded(root, real);
	free(root);
	return r;
}

/* The real PATH entries outside the workdir (searchPathOutside), joined with
 * ':' into *ret, or NULL in *ret when no entry is outside. */
static int
search_path_outside(const struct skills *sk, char **ret)
{
	const char *path = getenv("PATH");
	struct buf out = BUF_INIT(1u << 20);
	int any_outside = 0;
	char *copy;
	char *save = NULL;

	*ret = NULL;
	copy = strdup(path ? path : "");
	if (!copy)
		return -ENOMEM;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *real;
		int inside;
		int helper_inside = 0;

		if (dir[0] != '/')
			continue;
		real = realpath(dir, NULL);
		if (real) {
			inside = is_inside_workdir(sk, real);
		} else {
			char *lex = fsutil_resolve("/", dir);

			inside = lex ? is_inside_workdir(sk, lex) : -ENOMEM;
			free(lex);
		}
		if (inside < 0) {
			free(real);
			free(copy);
			buf_release(&out);
			return inside;
		}
		if (inside) {
			free(real);
			continue;
		}
		any_outside = 1;
		if (!real)
			continue;
		for (size_t i = 0; i < sizeof(tool_helpers) / sizeof(tool_helpers[0]); i++) {
			char *p = fsutil_resolve(real, tool_helpers[i]);
			char *hreal = p ? realpath(p, NULL) : NULL;

			if (hreal && is_inside_workdir(sk, hreal) > 0)
				helper_inside = 1;
			free(hreal);
			free(p);
		}
		if (!helper_inside && (out.len == 0 || buf_putc(&out, ':') == 0))
			buf_puts(&out, real);
		free(real);
	}
	free(copy);
	if (any_outside) {
		*ret = buf_steal(&out);
		return *ret ? 0 : -ENOMEM;
	}
	buf_release(&out);
	return 0;
}

/* The first executable `name` on `search` (outside the workdir when
 * `outside`), as a new string, or NULL. */
static char *
find_executable(const struct skills *sk, const char *name, const char *search, int outside)
{
	char *copy = strdup(search ? search : "");
	char *save = NULL;
	char *found = NULL;

	if (!copy)
		return NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *cand;
		struct stat st;

		if (dir[0] != '/')
			continue;
		cand = fsutil_resolve(dir, name);
		if (cand && access(cand, X_OK) == 0 && stat(cand, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			if (!outside) {
				found = cand;
				cand = NULL;
			} else {
				char *real = realpath(cand, NULL);

				if (real && is_inside_workdir(sk, real) == 0)
					found = real;
				else
					free(real);
			}
		}
		free(cand);
	}
	free(copy);
	return found;
}

/* ---- running an archive tool -------------------------------------------- */

/* Variables that may hold a credential never reach an archive tool. */
static int
is_secret_name(const char *var)
{
	static const char *const words[] = { "KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL" };

	if (strncasecmp(var, "ANTHROPIC_", 10) == 0 || strncmp(var, "ER_", 3) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		const char *eq = strchr(var, '=');
		const char *hit = strcasestr(var, words[i]);

		if (hit && (!eq || hit < eq))
			return 1;
	}
	return 0;
}

static void
proc_maybe_done(struct skills *sk)
{
	struct job *j = &sk->job;

	if (!j->exited || j->pfd[0] >= 0 || j->pfd[1] >= 0)
		return;
	loop_cancel_timer(j->proc_timer);
	j->proc_timer = NULL;
	loop_cancel_timer(j->watchdog);
	j->watchdog = NULL;
	j->proc = NULL;
	j->proc_done(sk);
}

/* What passes TOOL_OUTPUT_LIMIT is dropped and the command killed. */
static int
take_output(struct skills *sk, int i, const char *data, size_t len)
{
	struct job *j = &sk->job;

	if (buf_append(&j->out[i], data, len) == -ENOSPC && !j->over_limit) {
		j->over_limit = 1;
		proc_kill(j->proc, SIGKILL);
	}
	return 0;
}

static int
take_stdout(void *userdata, const char *data, size_t len)
{
	return take_output(userdata, 0, data, len);
}

static int
take_stderr(void *userdata, const char *data, size_t len)
{
	return take_output(userdata, 1, data, len);
}

static void
pipe_readable(void *userdata, int fd, uint32_t revents)
{
	struct skills *sk = userdata;
	struct job *j = &sk->job;
	int i = fd == j->pfd[0] ? 0 : 1;

	if (nbio_drain(fd, i == 0 ? take_stdout : take_stderr, sk) == 0)
		return;
	loop_unwatch(j->watch[i]);
	j->watch[i] = NULL;
	close(fd);
	j->pfd[i] = -1;
	proc_maybe_done(sk);
}

static void
proc_exited(void *userdata, struct proc *proc, int status)
{
	struct skills *sk = userdata;

	sk->job.exited = 1;
	sk->job.status = status;
	proc_maybe_done(sk);
}

static void
proc_timed_out(void *userdata)
{
	struct skills *sk = userdata;

	sk->job.proc_timer = NULL;
	sk->job.timed_out = 1;
	proc_kill(sk->job.proc, SIGKILL);
}

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw);
static uint64_t tree_bytes;

static int
add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_F)
		tree_bytes += (uint64_t)st->st_size;
	return 0;
}

static void
watchdog_fired(void *userdata)
{
	struct skills *sk = userdata;
	struct job *j = &sk->job;

	j->watchdog = NULL;
	tree_bytes = 0;
	nftw(j->stage, add_size, 16, FTW_PHYS);
	if (tree_bytes > sk->max_bytes) {
		j->over_size = 1;
		proc_kill(j->proc, SIGKILL);
		return;
	}
	loop_add_timer(sk->loop, WATCHDOG_MS, watchdog_fired, sk, &j->watchdog);
}

/* Start `cmd` with `args`; `done` runs once it exited and its output was
 * read. */
static int
run_tool(struct skills *sk, const char *const *args, int watch_stage, void (*done)(struct skills *))
{
	struct job *j = &sk->job;
	struct strv argv = STRV_INIT;
	struct strv env = STRV_INIT;
	struct spawn_spec spec;
	char *cwd = NULL;
	char err[256];
	int fds[3];
	int r = -ENOMEM;

	if (strv_push(&argv, j->tool_path) < 0)
		goto out;
	for (const char *const *a = args; *a; a++) {
		if (strv_push(&argv, *a) < 0)
			goto out;
	}
	for (char **e = environ; e && *e; e++) {
		if (!is_secret_name(*e) && strncmp(*e, "PATH=", 5) != 0 && strv_push(&env, *e) < 0)
			goto out;
	}
	if (j->search_path && strv_setenv(&env, "PATH", j->search_path) < 0)
		goto out;
	if (!j->search_path && getenv("PATH") && strv_setenv(&env, "PATH", getenv("PATH")) < 0)
		goto out;
	if (strv_setenv(&env, SPAWN_TRACKING_VAR, proc_group_tracking_id(sk->group)) < 0)
		goto out;
	cwd = strdup(j->tool_path);
	if (!cwd)
		goto out;
	*strrchr(cwd, '/') = '\0';
	memset(&spec, 0, sizeof(spec));
	spec.argv = strv_array(&argv);
	spec.envp = strv_array(&env);
	spec.cwd = *cwd ? cwd : "/";
	spec.pipe_stdout = 1;
	spec.pipe_stderr = 1;
	/* The tool reaches the staging folder through this fd (job_path()). */
	spec.pass_fds = &j->work_fd;
	spec.n_pass_fds = 1;
	j->exited = j->over_limit = j->over_size = j->timed_out = 0;
	r = proc_spawn(sk->group, &spec, proc_exited, sk, fds, &j->proc, err, sizeof(err));
	if (r < 0) {
		log_emit(LOG_LEVEL_DEBUG, "skills", sk->ctx, "%s", err);
		goto out;
	}
	j->proc_done = done;
	for (int i = 0; i < 2; i++) {
		j->pfd[i] = fds[i + 1];
		buf_init(&j->out[i], TOOL_OUTPUT_LIMIT);
		buf_puts(&j->out[i], "");
		if (loop_watch_fd(sk->loop, j->pfd[i], LOOP_READ, pipe_readable, sk, &j->watch[i]) <
		    0)
			r = -ENOMEM;
	}
	if (r == 0 &&
	    loop_add_timer(sk->loop, TOOL_TIMEOUT_MS, proc_timed_out, sk, &j->proc_timer) < 0)
		r = -ENOMEM;
	if (r == 0 && watch_stage &&
	    loop_add_timer(sk->loop, WATCHDOG_MS, watchdog_fired, sk, &j->watchdog) < 0)
		r = -ENOMEM;
	if (r < 0)
		proc_stop(j);
out:
	free(cwd);
	strv_release(&argv);
	strv_release(&env);
	return r;
}

/* 0 when the tool succeeded; else fails the job and returns -1. */
static int
tool_check(struct skills *sk)
{
	struct job *j = &sk->job;
	char how[64];
	const char *err;
	size_t n;

	if (j->over_limit) {
		job_failed(sk,
			   "skill archive lists too many members: `%s` printed more than %u "
			   "characters",
			   j->cmd, TOOL_OUTPUT_LIMIT);
		return -1;
	}
	if (j->over_size) {
		job_failed(sk, "skill archive unpacks to more than %llu bytes; refusing to extract",
			   (unsigned long long)sk->max_bytes);
		return -1;
	}
	if (j->timed_out) {
		job_failed(sk, "`%s` ran for more than %u ms", j->cmd, TOOL_TIMEOUT_MS);
		return -1;
	}
	if (WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0)
		return 0;
	if (WIFSIGNALED(j->status))
		snprintf(how, sizeof(how), "%s", strsignal(WTERMSIG(j->status)));
	else
		snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(j->status));
	err = j->out[1].data ? j->out[1].data : "";
	while (*err == ' ' || *err == '\n' || *err == '\t' || *err == '\r')
		err++;
	n = strlen(err);
	while (n > 0 && (err[n - 1] == ' ' || err[n - 1] == '\n' || err[n - 1] == '\t' ||
			 err[n - 1] == '\r'))
		n--;
	job_failed(sk, "`%s` failed (%s): %.*s", j->cmd, how, (int)(n > 600 ? 600 : n), err);
	return -1;
}

/* ---- after the extraction ------------------------------------------------- */

/* Verify that `dir` holds only regular files and directories (lstat, never
 * following a link), reset their modes and owners and count the bytes. */
static int
normalize_tree(const struct skills *sk, const char *dir, uint64_t *bytes, int verify_only)
{
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (!verify_only && chmod(dir, 0700) < 0)
		return -errno;
	d = opendir(dir);
	if (!d)
		return -errno;
	while (r == 0 && (e = readdir(d))) {
		struct stat st;
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = fsutil_resolve(dir, e->d_name);
		if (!p) {
			r = -ENOMEM;
			break;
		}
		if (lstat(p, &st) < 0) {
			r = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			if (!verify_only && sk->chown && lchown(p, sk->uid, sk->gid) < 0)
				r = -errno;
			else
				r = normalize_tree(sk, p, bytes, verify_only);
		} else if (!S_ISREG(st.st_mode)) {
			r = -EBADMSG;
		} else if (!verify_only) {
			/* A second link: chmod would reach an inode the archive
			 * did not create. */
			if (st.st_nlink > 1)
				r = -EBADMSG;
			else if (chmod(p, st.st_mode & 0111 ? 0755 : 0644) < 0 ||
				 (sk->chown && lchown(p, sk->uid, sk->gid) < 0))
				r = -errno;
			*bytes += (uint64_t)st.st_size;
		}
		free(p);
	}
	closedir(d);
	return r;
}

static void
after_extract(struct skills *sk)
{
	struct job *j = &sk->job;
	uint64_t bytes = 0;
	struct buf src = BUF_INIT(4096);
	int r;

	r = normalize_tree(sk, j->stage, &bytes, 1);
	if (r == 0)
		r = normalize_tree(sk, j->stage, &bytes, 0);
	if (r == -EBADMSG) {
		job_failed(sk, "%s", INCONSISTENT_LISTING);
		return;
	}
	if (r < 0) {
		job_failed(sk, "cannot check the extracted files: %s", strerror(-r));
		return;
	}
	if (bytes > sk->max_bytes) {
		job_failed(sk, "skill archive unpacks to more than %llu bytes; refusing to extract",
			   (unsigned long long)sk->max_bytes);
		return;
	}
	/* The wrapper (or the staged tree) takes dest's place in one rename,
	 * by fd from the skills folder; the stage is beside dest, so it stays
	 * on one filesystem.  A skill that fails leaves dest as it was. */
	if (buf_printf(&src, "stage%s%s", j->top && *j->top ? "/" : "", j->top ? j->top : "") < 0) {
		buf_release(&src);
		job_failed(sk, "out of memory");
		return;
	}
	r = 0;
	if (renameat(sk->root_fd, j->dest_name, j->work_fd, "replaced") < 0) {
		/* overlayfs cannot rename a directory of a lower layer. */
		if (errno == EXDEV)
			r = fsutil_remove_tree_at(sk->root_fd, j->dest_name);
		else if (errno != ENOENT)
			r = -errno;
	}
	if (r == 0 && renameat(j->work_fd, src.data, sk->root_fd, j->dest_name) < 0)
		r = errno == ENOENT ? -EBADMSG : -errno;
	buf_release(&src);
	if (r == 0 && sk->chown &&
	    fchownat(sk->root_fd, j->dest_name, sk->uid, sk->gid, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == -EBADMSG) {
		job_failed(sk, "%s", INCONSISTENT_LISTING);
		return;
	}
	if (r < 0) {
		job_failed(sk, "cannot move the skill into place: %s", strerror(-r));
		return;
	}
	if (strv_push(&sk->created, j->dest_name) < 0) {
		job_failed(sk, "out of memory");
		return;
	}
	log_emit(LOG_LEVEL_INFO, "skills", sk->ctx, "downloaded skill '%s' version '%s' into '%s'",
		 j->ref->skill_id, j->version_id, j->dest);
	job_release(sk);
	sk->active = 0;
	next_skill(sk);
}

static void
extract_done(struct skills *sk)
{
	if (tool_check(sk) == 0)
		after_extract(sk);
}

static void
typed_listed(struct skills *sk)
{
	struct job *j = &sk->job;
	char err[512];
	char *exclude = NULL;
	int r;

	if (tool_check(sk) < 0)
		return;
	r = archive_classify(j->tool, j->names, j->out[0].data ? j->out[0].data : "", &j->listing,
			     err, sizeof(err));
	proc_stop(j);
	if (r == 0) {
		r = archive_check_names(&j->listing.plain, err, sizeof(err));
		if (r == 0)
			r = archive_check_names(&j->listing.special, err, sizeof(err));
	}
	if (r == -ENOMEM) {
		job_failed(sk, "out of memory");
		return;
	}
	if (r < 0) {
		job_failed(sk, "%s", err);
		return;
	}
	if (j->listing.plain_bytes > sk->max_bytes) {
		job_failed(sk,
			   "skill archive declares %llu bytes, more than %llu; refusing to extract",
			   (unsigned long long)j->listing.plain_bytes,
			   (unsigned long long)sk->max_bytes);
		return;
	}
	j->top = archive_top_dir(&j->listing.plain);
	j->stage = fsutil_resolve(j->work, "stage");
	if (!j->top || !j->stage) {
		job_failed(sk, "out of memory");
		return;
	}
	if (mkdirat(j->work_fd, "stage", 0700) < 0) {
		job_failed(sk, "cannot create the staging folder: %m");
		return;
	}
	/* unzip exits non-zero when every member is excluded. */
	if (j->listing.plain.n == 0) {
		after_extract(sk);
		return;
	}
	{
		struct strv args = STRV_INIT;
		struct strv patterns = STRV_INIT;

		r = 0;
		for (size_t i = 0; r == 0 && i < j->listing.special.n; i++)
			r = strv_push_take(&patterns,
					   archive_exclude_pattern(j->listing.special.v[i]));
		if (j->tool == ARCHIVE_UNZIP) {
			const char *fixed[] = { "-oq", j->archive, "-d", j->stage };

			for (size_t i = 0; r == 0 && i < 4; i++)
				r = strv_push(&args, fixed[i]);
			if (r == 0 && patterns.n > 0)
				r = strv_push(&args, "-x");
			for (size_t i = 0; r == 0 && i < patterns.n; i++)
				r = strv_push(&args, patterns.v[i]);
		} else {
			const char *fixed[] = {
				"-xf",	  j->archive,	     "-C",
				j->stage, "--no-same-owner", "--no-same-permissions"
			};

			for (size_t i = 0; r == 0 && i < 6; i++)
				r = strv_push(&args, fixed[i]);
			if (r == 0 && patterns.n > 0) {
				int fd;

				exclude = fsutil_resolve(j->work, "exclude");
				fd = exclude ? openat(j->work_fd, "exclude",
						      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
							      O_NOFOLLOW,
						      0600)
					     : -1;
				r = fd < 0 ? -EIO : 0;
				for (size_t i = 0; r == 0 && i < patterns.n; i++) {
					if (dprintf(fd, "%s\n", patterns.v[i]) < 0)
						r = -EIO;
				}
				if (fd >= 0)
					close(fd);
				if (r == 0)
					r = strv_push(&args, "-X");
				if (r == 0)
					r = strv_push(&args, exclude);
			}
		}
		if (r == 0)
			r = run_tool(sk, (const char *const *)strv_array(&args), 1, extract_done);
		strv_release(&args);
		strv_release(&patterns);
		free(exclude);
	}
	if (r < 0)
		job_failed(sk, "cannot run `%s`: %s", j->cmd, strerror(-r));
}

static void
names_listed(struct skills *sk)
{
	struct job *j = &sk->job;
	const char *zip_args[] = { "-Z", "--h", "--t", j->archive, NULL };
	const char *tar_args[] = { "-tvf", j->archive, NULL };
	int r;

	if (tool_check(sk) < 0)
		return;
	j->names = strdup(j->out[0].data ? j->out[0].data : "");
	proc_stop(j);
	if (!j->names) {
		job_failed(sk, "out of memory");
		return;
	}
	r = run_tool(sk, j->tool == ARCHIVE_UNZIP ? zip_args : tar_args, 0, typed_listed);
	if (r < 0)
		job_failed(sk, "cannot run `%s`: %s", j->cmd, strerror(-r));
}

static void
start_listing(struct skills *sk)
{
	struct job *j = &sk->job;
	const char *zip_args[] = { "-Z1", j->archive, NULL };
	const char *tar_args[] = { "-tf", j->archive, NULL };
	unsigned char head[4];
	ssize_t n;
	int fd;
	int r;

	fd = openat(j->work_fd, "archive", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	n = fd >= 0 ? read(fd, head, sizeof(head)) : -1;
	if (fd >= 0)
		close(fd);
	j->tool = archive_is_zip(head, n > 0 ? (size_t)n : 0) ? ARCHIVE_UNZIP : ARCHIVE_TAR;
	j->cmd = j->tool == ARCHIVE_UNZIP ? "unzip" : "tar";
	r = search_path_outside(sk, &j->search_path);
	if (r < 0) {
		job_failed(sk, "cannot tell which PATH entries are outside the workdir: %s",
			   strerror(-r));
		return;
	}
	j->tool_path = j->search_path ? find_executable(sk, j->cmd, j->search_path, 1)
				      : find_executable(sk, j->cmd, getenv("PATH"), 0);
	if (!j->tool_path) {
		job_failed(sk,
			   "skill extraction requires the `%s` command, but it was not found on "
			   "PATH%s",
			   j->cmd, j->search_path ? " outside `workdir` and `allowedRoots`" : "");
		return;
	}
	r = run_tool(sk, j->tool == ARCHIVE_UNZIP ? zip_args : tar_args, 0, names_listed);
	if (r < 0)
		job_failed(sk, "cannot run `%s`: %s", j->cmd, strerror(-r));
}

/* ---- the download ------------------------------------------------------- */

/* The skills folder, opened once without following a link: a `skills`
 * link or file the session planted is replaced by a folder. */
static int
open_root(struct skills *sk)
{
	struct stat st;
	int wfd;
	int r = 0;

	if (sk->root_fd >= 0)
		return 0;
	wfd = open(sk->workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0)
		return -errno;
	if (fstat(wfd, &st) < 0) {
		r = -errno;
		close(wfd);
		return r;
	}
	sk->uid = st.st_uid;
	sk->gid = st.st_gid;
	sk->chown = st.st_uid != geteuid() && geteuid() == 0;
	for (int tries = 0; tries < 2; tries++) {
		if (mkdirat(wfd, "skills", 0700) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		sk->root_fd =
			openat(wfd, "skills", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		r = sk->root_fd < 0 ? -errno : 0;
		if (r == 0 && sk->chown && fchown(sk->root_fd, sk->uid, sk->gid) < 0)
			r = -errno;
		if (r != -ELOOP && r != -ENOTDIR)
			break;
		r = fsutil_remove_tree_at(wfd, "skills");
		if (r < 0)
			break;
	}
	close(wfd);
	return r;
}

/* A new owner-only folder in the skills folder, as mkdtemp() makes one. */
static int
make_work(struct skills *sk)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	struct job *j = &sk->job;
	char name[32];
	unsigned char rnd[6];

	for (int tries = 0; tries < 100; tries++) {
		if (rand_bytes(rnd, sizeof(rnd)) < 0)
			return -EIO;
		memcpy(name, ".skill-stage-", 13);
		for (size_t i = 0; i < sizeof(rnd); i++)
			name[13 + i] = chars[rnd[i] % (sizeof(chars) - 1)];
		name[13 + sizeof(rnd)] = '\0';
		if (mkdirat(sk->root_fd, name, 0700) == 0)
			break;
		if (errno != EEXIST)
			return -errno;
		name[0] = '\0';
	}
	if (!name[0])
		return -EEXIST;
	j->work_name = strdup(name);
	if (!j->work_name)
		return -ENOMEM;
	j->work_fd = openat(sk->root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->work_fd < 0)
		return -errno;
	j->work = job_path(j->work_fd, sk->skills_root, name);
	return j->work ? 0 : -ENOMEM;
}

/* Make the staging folder beside dest, once the download's answer
 * arrived, by fd from the skills folder; dest itself is replaced only by a
 * complete extraction (after_extract). */
static int
prepare_dest(struct skills *sk)
{
	struct job *j = &sk->job;
	int r;

	j->dest_ready = 1;
	r = open_root(sk);
	if (r < 0)
		return r;
	r = make_work(sk);
	if (r < 0)
		return r;
	j->archive = fsutil_resolve(j->work, "archive");
	if (!j->archive)
		return -ENOMEM;
	j->fd = openat(j->work_fd, "archive", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		       0600);
	return j->fd < 0 ? -errno : 0;
}

static int
body_chunk(void *userdata, const char *data, size_t n)
{
	struct skills *sk = userdata;
	struct job *j = &sk->job;

	if (!j->dest_ready && prepare_dest(sk) < 0)
		return -1;
	if (j->fd < 0)
		return -1;
	if (!data) {
		/* A retry starts the body over. */
		j->bytes = 0;
		return ftruncate(j->fd, 0) < 0 || lseek(j->fd, 0, SEEK_SET) < 0 ? -1 : 0;
	}
	j->bytes += n;
	if (j->bytes > sk->max_bytes) {
		j->too_big = 1;
		return -1;
	}
	return nbio_write_all(j->fd, data, n) < 0 ? -1 : 0;
}

static void
content_done(void *userdata, const struct api_result *res)
{
	struct skills *sk = userdata;
	struct job *j = &sk->job;
	int r;

	sk->call = NULL;
	if (j->too_big) {
		job_failed(sk, "skill archive is larger than %llu bytes",
			   (unsigned long long)sk->max_bytes);
		return;
	}
	if (res->status < 200 || res->status >= 300) {
		job_failed(sk, "downloading the skill's content failed: %s",
			   res->status ? (res->error_message ? res->error_message : "HTTP error")
				       : res->transport_error);
		return;
	}
	if (!j->dest_ready && (r = prepare_dest(sk)) < 0) {
		job_failed(sk, "cannot prepare '%s': %s", j->dest, strerror(-r));
		return;
	}
	if (j->fd < 0 || close(j->fd) < 0) {
		j->fd = -1;
		job_failed(sk, "cannot write the skill archive");
		return;
	}
	j->fd = -1;
	start_listing(sk);
}

/* JavaScript's path.basename(name.trim()). */
static char *
skill_dirname(const char *name)
{
	const char *s = name;
	const char *e = name + strlen(name);
	const char *b;

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	while (e > s && (e[-1] == ' ' || (e[-1] >= '\t' && e[-1] <= '\r')))
		e--;
	while (e > s && e[-1] == '/')
		e--;
	for (b = e; b > s && b[-1] != '/'; b--)
		;
	return strndup(b, (size_t)(e - b));
}

/* Whether an earlier skill was extracted to `name`: the file system is
 * asked, since different names can be the same folder. */
static int
is_among(const struct skills *sk, const char *name)
{
	struct stat a;
	struct stat b;

	if (sk->root_fd < 0 || fstatat(sk->root_fd, name, &a, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	for (size_t i = 0; i < sk->created.n; i++) {
		if (fstatat(sk->root_fd, sk->created.v[i], &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return 1;
	}
	return 0;
}

static void
version_done(void *userdata, const struct api_result *res)
{
	struct skills *sk = userdata;
	struct job *j = &sk->job;
	const char *id;
	const char *name;
	char *dirname;
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	sk->call = NULL;
	if (res->status != 200 || !res->doc || json_kind(res->doc, 0) != JSON_OBJECT) {
		job_failed(sk, "cannot read the skill version '%s': %s", j->ref->version,
			   res->status ? (res->error_message ? res->error_message : "bad answer")
				       : res->transport_error);
		return;
	}
	id = json_get_str(res->doc, 0, "id");
	name = json_get_str(res->doc, 0, "name");
	if (!id || !name) {
		job_failed(sk, "the skill version has no id or name");
		return;
	}
	/* The skill's name, reduced to one safe path component. */
	dirname = skill_dirname(name);
	if (dirname && (!*dirname || strcmp(dirname, ".") == 0 || strcmp(dirname, "..") == 0)) {
		free(dirname);
		dirname = strdup(j->ref->skill_id);
	}
	j->version_id = strdup(id);
	j->dest = dirname ? fsutil_resolve(sk->skills_root, dirname) : NULL;
	j->dest_name = dirname;
	if (!j->version_id || !j->dest) {
		job_failed(sk, "out of memory");
		return;
	}
	if (strcmp(j->dest, sk->skills_root) == 0 || !fsutil_is_within(sk->skills_root, j->dest) ||
	    strchr(j->dest_name, '/')) {
		log_emit(LOG_LEVEL_WARNING, "skills", sk->ctx,
			 "skill name '%s' escapes the skills dir; skipping", name);
		job_release(sk);
		sk->active = 0;
		next_skill(sk);
		return;
	}
	if (is_among(sk, j->dest_name)) {
		log_emit(LOG_LEVEL_WARNING, "skills", sk->ctx,
			 "an earlier skill has the name '%s'; skipping", name);
		job_release(sk);
		sk->active = 0;
		next_skill(sk);
		return;
	}
	/* `version` may be the alias "latest": download by the id it gave. */
	if (api_path(&path, "/v1/skills/%s/versions/%s/content", j->ref->skill_id, j->version_id) <
	    0) {
		buf_release(&path);
		job_failed(sk, "out of memory");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.path = path.data;
	r.token = sk->token;
	r.helper = "environments-worker";
	r.accept = "application/binary";
	r.max_retries = -1;
	r.on_body = body_chunk;
	if (api_call(sk->api, &r, content_done, sk, &sk->call) < 0) {
		buf_release(&path);
		job_failed(sk, "cannot start the download");
		return;
	}
	buf_release(&path);
}

static void
next_skill(void *userdata)
{
	struct skills *sk = userdata;
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	sk->timer = NULL;
	if (sk->next >= sk->n_refs) {
		sk->done(sk->userdata);
		return;
	}
	job_release(sk);
	sk->job.ref = &sk->refs[sk->next++];
	sk->active = 1;
	if (api_path(&path, "/v1/skills/%s/versions/%s", sk->job.ref->skill_id,
		     sk->job.ref->version) < 0) {
		buf_release(&path);
		job_failed(sk, "out of memory");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.path = path.data;
	r.token = sk->token;
	r.helper = "environments-worker";
	r.timeout_ms = 60000;
	r.max_retries = -1;
	if (api_call(sk->api, &r, version_done, sk, &sk->call) < 0) {
		buf_release(&path);
		job_failed(sk, "cannot start the request");
		return;
	}
	buf_release(&path);
}

/* ---- the instance --------------------------------------------------------- */

/* Add the skills of one agent, each skill id once. */
static int
add_refs(struct skills *sk, const struct json_doc *doc, int agent, const char *whose)
{
	int list = json_get(doc, agent, "skills");
	int n = json_kind(doc, list) == JSON_ARRAY ? json_size(doc, list) : 0;
	struct skill_ref *refs;

	if (n <= 0)
		return 0;
	refs = realloc(sk->refs, (sk->n_refs + (size_t)n) * sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	sk->refs = refs;
	for (int i = 0, e = json_first(doc, list); i < n; i++, e = json_next(doc, e)) {
		const char *id = json_get_str(doc, e, "skill_id");
		const char *v = json_get_str(doc, e, "version");
		int seen = 0;

		if (!id || !v) {
			log_emit(LOG_LEVEL_WARNING, "skills", sk->ctx,
				 "skill %d of %s has no skill_id or version; skipping", i, whose);
			continue;
		}
		for (size_t k = 0; k < sk->n_refs && !seen; k++)
			seen = strcmp(sk->refs[k].skill_id, id) == 0;
		if (seen)
			continue;
		sk->refs[sk->n_refs].skill_id = strdup(id);
		sk->refs[sk->n_refs].version = strdup(v);
		sk->n_refs++;
		if (!sk->refs[sk->n_refs - 1].skill_id || !sk->refs[sk->n_refs - 1].version)
			return -ENOMEM;
	}
	return 0;
}

/* The subagents' own agents, of type "agent", in the array `members`. */
static int
add_member_refs(struct skills *sk, const struct json_doc *doc, int members)
{
	int n = json_kind(doc, members) == JSON_ARRAY ? json_size(doc, members) : 0;
	int r = 0;

	for (int i = 0, e = json_first(doc, members); r == 0 && i < n; i++, e = json_next(doc, e)) {
		const char *type = json_get_str(doc, e, "type");

		if (type && strcmp(type, "agent") == 0)
			r = add_refs(sk, doc, e, "a subagent");
	}
	return r;
}

/* The agent's skills, then its subagents' (a coordinator's agents, or the
 * predefined agents of enabled subagents and workflows). */
static int
read_refs(struct skills *sk, const char *session_json)
{
	static const char *const groups[] = { "subagents", "workflows" };
	struct json_doc *doc = NULL;
	int agent;
	int multi;
	const char *type;
	int r;

	if (json_parse(session_json, strlen(session_json), &doc, NULL, 0) < 0)
		return 0;
	agent = json_get(doc, 0, "agent");
	r = add_refs(sk, doc, agent, "the agent");
	multi = json_get(doc, agent, "multiagent");
	type = json_get_str(doc, multi, "type");
	if (r == 0 && type && strcmp(type, "coordinator") == 0) {
		r = add_member_refs(sk, doc, json_get(doc, multi, "agents"));
	} else if (r == 0 && type && strcmp(type, "multiagent_20261001") == 0) {
		for (size_t i = 0; r == 0 && i < sizeof(groups) / sizeof(groups[0]); i++) {
			int group = json_get(doc, multi, groups[i]);
			const char *state = json_get_str(doc, group, "type");

			if (state && strcmp(state, "enabled") == 0)
				r = add_member_refs(sk, doc,
						    json_get(doc, group, "predefined_agents"));
		}
	}
	json_free(doc);
	return r;
}

struct skills *
skills_start(struct loop *loop, struct api *api, struct spawner *sp, const char *session_json,
	     const struct skills_options *o, skills_done_cb done, void *userdata)
{
	struct skills *sk = calloc(1, sizeof(*sk));

	if (!sk)
		return NULL;
	sk->loop = loop;
	sk->api = api;
	sk->sp = sp;
	sk->ctx = o->ctx;
	sk->max_bytes = o->max_bytes;
	sk->done = done;
	sk->userdata = userdata;
	sk->root_fd = -1;
	sk->job.fd = -1;
	sk->job.work_fd = -1;
	sk->job.pfd[0] = sk->job.pfd[1] = -1;
	sk->workdir = strdup(o->workdir);
	sk->token = strdup(o->token);
	sk->skills_root = fsutil_resolve(o->workdir, "skills");
	sk->group = proc_group_new(sp);
	if (!sk->workdir || !sk->token || !sk->skills_root || !sk->group ||
	    read_refs(sk, session_json) < 0 ||
	    loop_add_timer(loop, 0, next_skill, sk, &sk->timer) < 0) {
		skills_free(sk);
		return NULL;
	}
	return sk;
}

void
skills_cancel(struct skills *sk)
{
	if (!sk)
		return;
	loop_cancel_timer(sk->timer);
	sk->timer = NULL;
	api_call_cancel(sk->call);
	sk->call = NULL;
	job_release(sk);
	sk->active = 0;
	sk->next = sk->n_refs;
}

void
skills_cleanup(struct skills *sk)
{
	if (!sk)
		return;
	skills_cancel(sk);
	for (size_t i = 0; i < sk->created.n; i++) {
		int r = fsutil_remove_tree_at(sk->root_fd, sk->created.v[i]);

		if (r < 0)
			log_emit(LOG_LEVEL_WARNING, "skills", sk->ctx,
				 "failed to clean up skill '%s': %s", sk->created.v[i],
				 strerror(-r));
	}
	strv_release(&sk->created);
}

void
skills_free(struct skills *sk)
{
	if (!sk)
		return;
	skills_cancel(sk);
	proc_group_free(sk->group);
	for (size_t i = 0; i < sk->n_refs; i++) {
		free(sk->refs[i].skill_id);
		free(sk->refs[i].version);
	}
	free(sk->refs);
	strv_release(&sk->created);
	free(sk->workdir);
	if (sk->token)
		memset(sk->token, 0, strlen(sk->token));
	free(sk->token);
	free(sk->skills_root);
	if (sk->root_fd >= 0)
		close(sk->root_fd);
	free(sk);
}
