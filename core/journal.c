/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "descriptors.h"
#include "fsutil.h"
#include "http.h"
#include "journal.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "nbio.h"
#include "offload.h"
#include "wipe.h"

/* The work item and the ids of its calls; a result as large as an event. */
#define JOURNAL_MAX_RECORD (HTTP_MAX_BODY + (1u << 20))
#define CALLS_SUFFIX ".calls"
/* Past this the calls' log is folded into the snapshot. */
#define LOG_FOLD_BYTES (1u << 20)
/* A result the API has not accepted by then is synced: a machine crash
 * later than this cannot make its call run again. */
#define RESULT_SYNC_AFTER_MS 1000

struct journal_call_rec {
	struct journal_call_rec *next;
	struct journal_item *ji;
	char *id;
	int has_result;
	int is_error;
	char *text;
	size_t len;
	struct loop_timer *sync_timer; /* until its result's line is synced */
	struct result_sync *sync;      /* of that line, queued or in flight */
};

struct journal_item {
	struct loop *loop;
	char *dir;
	char *path;	/* <work id>.json */
	char *log_path; /* <work id>.calls */
	int log_fd;
	int log_whole; /* its last line is whole: emptied or checked by this runner */
	uint64_t log_bytes;
	struct buf overs; /* {"over":ID} lines, written with the next line */
	char *api_url;
	char *environment_id;
	char *worker_id;
	char *work_id;
	char *work; /* secret included: wiped */
	size_t work_len;
	char *last_heartbeat;
	int64_t lease_until;
	char *workdir;
	struct journal_call_rec *calls;
	int write_failed; /* logged once */
};

/* A result's line, synced in a batch on a thread. */
struct result_sync {
	struct result_sync *next;
	struct journal_call_rec *c; /* NULL once its entry is gone */
	char *log_path;		    /* opened on the thread, when its turn comes */
	int err;
};

/* Results the API is slow to accept are synced in batches, one batch at a
 * time on a thread: an fsync commits the file system's journal, which then
 * holds every line written before it, so the results that come due while a
 * batch is synced cost one commit together, not one each.  (One loop a
 * process: one batch.)  The thread opens each log when it comes to it: a
 * descriptor held for each result waiting would run an overloaded runner
 * out of them, thousands at a time. */
static struct {
	struct loop *loop;
	struct result_sync *queue; /* for the next batch */
	struct result_sync **tail;
	struct offload *running;
	int attached; /* entries of either whose call entry still exists */
} batch = { NULL, NULL, &batch.queue, NULL, 0 };

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int
set_str(char **field, const char *value)
{
	char *copy = dup_or_null(value);

	if (value && !copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* What a user can do about a write that failed with -r. */
static const char *
write_fix(int r)
{
	switch (-r) {
	case EMFILE:
	case ENFILE:
		return DESCRIPTORS_FIX;
	case EACCES:
	case EPERM:
	case EROFS:
		return "make the state directory writable by the runner's user";
	case ENOSPC:
	case EDQUOT:
		return "free space in the state directory";
	case ENOMEM:
		return "give the runner more memory or lower --capacity";
	default:
		return "check the state directory and its file system";
	}
}

static void
failed(struct journal_item *ji, const char *what, int r)
{
	if (!ji->write_failed)
		log_emit(LOG_LEVEL_WARNING, "journal", NULL,
			 "cannot write %s (%s): were the runner to stop now, item %s could not "
			 "be resumed as it is; fix: %s",
			 what, strerror(-r), ji->work_id, write_fix(r));
	ji->write_failed = 1;
}

static void batch_detach(struct result_sync *w);

static void
call_rec_free(struct journal_call_rec *c)
{
	loop_cancel_timer(c->sync_timer);
	if (c->sync)
		batch_detach(c->sync);
	free(c->id);
	free(c->text);
	free(c);
}

static struct journal_call_rec *
find_call(const struct journal_item *ji, const char *id)
{
	for (struct journal_call_rec *c = ji->calls; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

/* The call's entry, made (and *added set) when it has none. */
static struct journal_call_rec *
add_call(struct journal_item *ji, const char *id, int *added)
{
	struct journal_call_rec *c = find_call(ji, id);
	struct journal_call_rec **tail = &ji->calls;

	if (added)
		*added = !c;
	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->id = strdup(id))) {
		free(c);
		return NULL;
	}
	c->ji = ji;
	while (*tail)
		tail = &(*tail)->next;
	*tail = c;
	return c;
}

static int
set_result(struct journal_call_rec *c, int is_error, const char *text, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	free(c->text);
	c->text = copy;
	c->len = len;
	c->has_result = 1;
	c->is_error = is_error;
	return 0;
}

static void
drop_call(struct journal_item *ji, struct journal_call_rec *c)
{
	for (struct journal_call_rec **p = &ji->calls; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	call_rec_free(c);
}

/* ---- files ------------------------------------------------------------- */

/* A kept result, in the snapshot's calls and as a line of the log:
 * {"result":ID,"is_error":B,"text":T}. */
static void
write_result(struct jsonw *w, const struct journal_call_rec *c)
{
	jw_object_begin(w);
	jw_key(w, "result");
	jw_string(w, c->id);
	jw_key(w, "is_error");
	jw_bool(w, c->is_error);
	jw_key(w, "text");
	jw_stringn(w, c->text, c->len);
	jw_object_end(w);
}

/* Read one back (the object at `tok`): 1 when it is one, 0 when not, or
 * -ENOMEM. */
static int
read_result(struct journal_item *ji, const struct json_doc *doc, int tok)
{
	const char *id = json_get_str(doc, tok, "result");
	const char *text = json_get_str(doc, tok, "text");
	struct journal_call_rec *c;

	if (!id || !text)
		return 0;
	c = add_call(ji, id, NULL);
	if (!c || set_result(c, json_bool(doc, json_get(doc, tok, "is_error")) == 1, text,
			     strlen(text)) < 0)
		return -ENOMEM;
	return 1;
}

static int
encode_snapshot(const struct journal_item *ji, struct buf *b)
{
	struct jsonw w;

	jw_init(&w, b);
	jw_object_begin(&w);
	jw_key(&w, "version");
	jw_int(&w, JOURNAL_VERSION);
	jw_key(&w, "api_url");
	jw_string(&w, ji->api_url);
	jw_key(&w, "environment_id");
	jw_string(&w, ji->environment_id);
	jw_key(&w, "worker_id");
	jw_string(&w, ji->worker_id);
	jw_key(&w, "work_id");
	jw_string(&w, ji->work_id);
	jw_key(&w, "work");
	jw_raw(&w, ji->work, ji->work_len);
	jw_key(&w, "last_heartbeat");
	jw_string(&w, ji->last_heartbeat);
	jw_key(&w, "lease_until");
	jw_int(&w, ji->lease_until);
	jw_key(&w, "workdir");
	jw_string(&w, ji->workdir);
	jw_key(&w, "calls");
	jw_array_begin(&w);
	for (const struct journal_call_rec *c = ji->calls; c; c = c->next) {
		if (c->has_result)
			write_result(&w, c);
		else
			jw_string(&w, c->id);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	return jw_finish(&w);
}

/* The calls' log, opened at its first write: reading a record (as an
 * upgrade's check does, beside the runner that writes it) changes nothing. */
static int
open_log(struct journal_item *ji)
{
	struct stat st;
	char last;

	if (ji->log_fd >= 0)
		return 0;
	ji->log_fd = open(ji->log_path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (ji->log_fd < 0)
		return -errno;
	if (ji->log_whole)
		return 0;
	/* A line a crash cut short is ended, so that it does not swallow the
	 * next one. */
	if (fstat(ji->log_fd, &st) == 0 && st.st_size > 0 &&
	    pread(ji->log_fd, &last, 1, st.st_size - 1) == 1 && last != '\n' &&
	    nbio_write_all(ji->log_fd, "\n", 1) < 0)
		return -errno;
	ji->log_whole = 1;
	return 0;
}

/* Between calls the log is closed: of the descriptors a session holds,
 * this one is needed only while a call runs (a sync holds its own). */
static void
close_log_if_idle(struct journal_item *ji)
{
	if (!ji->calls && ji->log_fd >= 0) {
		close(ji->log_fd);
		ji->log_fd = -1;
	}
}

/* The snapshot, which then holds every line of the calls' log: emptied,
 * unless a result's line there is not synced yet (the snapshot is not
 * synced: the line stays until the next fold). */
static int
save_snapshot(struct journal_item *ji)
{
	struct buf b = BUF_INIT(JOURNAL_MAX_RECORD);
	int r = encode_snapshot(ji, &b);
	int syncing = 0;

	for (const struct journal_call_rec *c = ji->calls; c; c = c->next)
		syncing |= c->sync_timer || c->sync;
	if (r == 0)
		r = fsutil_replace_file(ji->path, b.data, b.len, 0);
	secret_wipe(b.data, b.len);
	buf_release(&b);
	if (r == 0 && !syncing && (r = open_log(ji)) == 0) {
		if (ftruncate(ji->log_fd, 0) < 0) {
			r = -errno;
		} else {
			ji->log_bytes = 0;
			ji->log_whole = 1;
			/* The snapshot holds the calls still open, and no other. */
			buf_reset(&ji->overs);
		}
	}
	if (r < 0)
		failed(ji, ji->path, r);
	close_log_if_idle(ji);
	return r;
}

/* Lines as they are, newlines included. */
static int
log_line_now(struct journal_item *ji, const struct buf *b)
{
	int r = open_log(ji);

	/* One write of an O_APPEND file: a line is whole, or cut short (and
	 * then skipped when read). */
	if (r == 0)
		r = nbio_write_all(ji->log_fd, b->data, b->len);
	if (r < 0) {
		failed(ji, ji->log_path, r);
		return r;
	}
	ji->log_bytes += b->len;
	return 0;
}

/* One line of the calls' log, `b` without its newline: {"started":ID},
 * {"result":ID,"is_error":B,"text":T}, {"over":ID} or a heartbeat's. */
static int
log_line(struct journal_item *ji, struct buf *b)
{
	int r = buf_putc(b, '\n');

	/* The calls over since the last line go first, in the same write. */
	if (r == 0 && ji->overs.len > 0 && buf_append(&ji->overs, b->data, b->len) == 0)
		b = &ji->overs;
	else if (r == 0 && ji->overs.len > 0)
		r = log_line_now(ji, &ji->overs);
	if (r == 0)
		r = log_line_now(ji, b);
	buf_reset(&ji->overs);
	return r;
}

/* The line `w` wrote to `b`, which it releases; a log grown past its bound
 * is folded into the snapshot. */
static void
log_object(struct journal_item *ji, struct jsonw *w, struct buf *b)
{
	if (jw_finish(w) == 0)
		log_line(ji, b);
	else
		failed(ji, ji->log_path, -ENOMEM);
	buf_release(b);
	if (ji->log_bytes > LOG_FOLD_BYTES)
		save_snapshot(ji);
}

/* {WHAT:ID} into `b` through `w`, unfinished. */
static void
call_object(struct jsonw *w, struct buf *b, const char *what, const char *id)
{
	jw_init(w, b);
	jw_object_begin(w);
	jw_key(w, what);
	jw_string(w, id);
	jw_object_end(w);
}

static void
log_call(struct journal_item *ji, const char *what, const char *id)
{
	struct buf b = BUF_INIT(64 * 1024);
	struct jsonw w;

	call_object(&w, &b, what, id);
	log_object(ji, &w, &b);
}

/* {"over":ID}, kept for the next line's write (log_line()). */
static void
hold_over(struct journal_item *ji, const char *id)
{
	struct buf b = BUF_INIT(64 * 1024);
	struct jsonw w;
	int held;

	call_object(&w, &b, "over", id);
	held = jw_finish(&w) == 0 && buf_putc(&b, '\n') == 0 &&
	       buf_append(&ji->overs, b.data, b.len) == 0;
	buf_release(&b);
	/* Else written now, after those held. */
	if (!held)
		log_call(ji, "over", id);
}

/* A heartbeat is a line too, {"beat":LAST,"lease_until":MS}: appending it
 * costs a write, where replacing the snapshot at every heartbeat cost a
 * new file and a rename each (the most of the records' cost at a thousand
 * sessions). */
static void
log_beat(struct journal_item *ji)
{
	struct buf b = BUF_INIT(64 * 1024);
	struct jsonw w;

	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "beat");
	jw_string(&w, ji->last_heartbeat);
	jw_key(&w, "lease_until");
	jw_int(&w, ji->lease_until);
	jw_object_end(&w);
	log_object(ji, &w, &b);
	close_log_if_idle(ji);
}

/* ---- the item ---------------------------------------------------------- */

static struct journal_item *
item_alloc(struct loop *loop, const char *dir, const char *work_id)
{
	struct journal_item *ji = calloc(1, sizeof(*ji));
	struct buf path = BUF_INIT(8192);
	struct buf log = BUF_INIT(8192);

	if (!ji)
		return NULL;
	ji->loop = loop;
	ji->log_fd = -1;
	buf_init(&ji->overs, 64 * 1024);
	if (!(ji->dir = strdup(dir)) || !(ji->work_id = strdup(work_id)) ||
	    buf_printf(&path, "%s/%s.json", dir, work_id) < 0 ||
	    buf_printf(&log, "%s/%s%s", dir, work_id, CALLS_SUFFIX) < 0 ||
	    !(ji->path = buf_steal(&path)) || !(ji->log_path = buf_steal(&log))) {
		buf_release(&path);
		buf_release(&log);
		journal_item_free(ji);
		return NULL;
	}
	return ji;
}

struct journal_item *
journal_item_new(struct loop *loop, const char *dir, const struct journal_origin *origin,
		 const char *work_id, const char *work_json, size_t len)
{
	struct journal_item *ji;
	if (!dir)
		return NULL;
	/* Ids were checked before any request named them: no '/' nor "..". */
	ji = item_alloc(loop, dir, work_id);
	if (!ji || set_str(&ji->api_url, origin->api_url) < 0 ||
	    set_str(&ji->environment_id, origin->environment_id) < 0 ||
	    set_str(&ji->worker_id, origin->worker_id) < 0 || !(ji->work = malloc(len + 1))) {
		log_emit(LOG_LEVEL_WARNING, "journal", NULL,
			 "out of memory: item %s is served without a record", work_id);
		journal_item_free(ji);
		return NULL;
	}
	memcpy(ji->work, work_json, len);
	ji->work[len] = '\0';
	ji->work_len = len;
	if (save_snapshot(ji) < 0) {
		journal_item_remove(ji);
		return NULL;
	}
	return ji;
}

static void
item_free(struct journal_item *ji)
{
	if (!ji)
		return;
	while (ji->calls) {
		struct journal_call_rec *c = ji->calls;

		ji->calls = c->next;
		call_rec_free(c);
	}
	if (ji->log_fd >= 0)
		close(ji->log_fd);
	if (ji->work)
		secret_wipe(ji->work, ji->work_len);
	free(ji->work);
	free(ji->dir);
	free(ji->path);
	free(ji->log_path);
	free(ji->api_url);
	free(ji->environment_id);
	free(ji->worker_id);
	free(ji->work_id);
	free(ji->last_heartbeat);
	free(ji->workdir);
	buf_release(&ji->overs);
	free(ji);
}

void
journal_item_free(struct journal_item *ji)
{
	/* Kept for a restart: the calls over are written down. */
	if (ji && ji->overs.len > 0 && log_line_now(ji, &ji->overs) == 0)
		buf_reset(&ji->overs);
	item_free(ji);
}

void
journal_item_remove(struct journal_item *ji)
{
	if (!ji)
		return;
	/* The snapshot first: without it the rest is not a record. */
	if (unlink(ji->path) < 0 && errno != ENOENT)
		log_emit(LOG_LEVEL_WARNING, "journal", NULL, "cannot remove '%s': %s", ji->path,
			 strerror(errno));
	unlink(ji->log_path);
	item_free(ji);
}

/* ---- loading ----------------------------------------------------------- */

static int
read_file(const char *path, struct buf *b)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = nbio_read_all(fd, nbio_buf_append, b);
	close(fd);
	return r;
}

/* The calls' log, line by line; a last line cut short by a crash is not
 * one. */
static int
replay_log(struct journal_item *ji)
{
	struct buf b = BUF_INIT(JOURNAL_MAX_RECORD);
	char *line;
	char *end;
	int r = read_file(ji->log_path, &b);

	if (r == -ENOENT)
		r = 0;
	for (line = b.data;
	     r == 0 && line && (end = memchr(line, '\n', b.len - (size_t)(line - b.data)));
	     line = end + 1) {
		struct json_doc *doc = NULL;
		struct journal_call_rec *c;
		const char *id;
		char perr[64];

		if (json_parse(line, (size_t)(end - line), &doc, perr, sizeof(perr)) < 0)
			continue;
		if ((id = json_get_str(doc, 0, "started"))) {
			if (!add_call(ji, id, NULL))
				r = -ENOMEM;
		} else if ((id = json_get_str(doc, 0, "beat"))) {
			if (set_str(&ji->last_heartbeat, id) < 0)
				r = -ENOMEM;
			json_int64(doc, json_get(doc, 0, "lease_until"), &ji->lease_until);
		} else if (read_result(ji, doc, 0) < 0) {
			r = -ENOMEM;
		} else if ((id = json_get_str(doc, 0, "over")) && (c = find_call(ji, id))) {
			drop_call(ji, c);
		}
		json_free(doc);
	}
	buf_release(&b);
	return r;
}

/* The snapshot's calls: an id, or a call with its result. */
static int
load_calls(struct journal_item *ji, const struct json_doc *doc, int arr)
{
	int n = json_size(doc, arr);
	int k = json_first(doc, arr);

	for (int i = 0; i < n; i++, k = json_next(doc, k)) {
		int r = json_kind(doc, k) == JSON_STRING
				? (add_call(ji, json_str(doc, k), NULL) ? 1 : -ENOMEM)
				: read_result(ji, doc, k);

		if (r <= 0)
			return r < 0 ? r : -EINVAL;
	}
	return 0;
}

int
journal_item_load(struct loop *loop, const char *path, struct journal_item **ret, char *err,
		  size_t errlen)
{
	struct buf b = BUF_INIT(JOURNAL_MAX_RECORD);
	struct journal_item *ji = NULL;
	struct json_doc *doc = NULL;
	const char *slash = strrchr(path, '/');
	char perr[128] = "";
	int64_t version = 0;
	const char *work_id;
	const char *work;
	size_t work_len;
	char *dir;
	int r;

	snprintf(err, errlen, "damaged record");
	r = read_file(path, &b);
	if (r < 0) {
		snprintf(err, errlen, "cannot read it: %s", strerror(-r));
		goto out;
	}
	r = json_parse(b.data ? b.data : "", b.len, &doc, perr, sizeof(perr));
	if (r < 0) {
		snprintf(err, errlen, "not a JSON record: %s", perr);
		r = -EINVAL;
		goto out;
	}
	r = -EINVAL;
	if (json_int64(doc, json_get(doc, 0, "version"), &version) < 0 ||
	    version != JOURNAL_VERSION) {
		snprintf(err, errlen, "record version %lld; this runner reads version %d",
			 (long long)version, JOURNAL_VERSION);
		goto out;
	}
	work_id = json_get_str(doc, 0, "work_id");
	work = json_raw(doc, json_get(doc, 0, "work"), &work_len);
	if (!work_id || !work || json_kind(doc, json_get(doc, 0, "work")) != JSON_OBJECT ||
	    json_kind(doc, json_get(doc, 0, "calls")) != JSON_ARRAY)
		goto out;
	dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	ji = dir ? item_alloc(loop, dir, work_id) : NULL;
	free(dir);
	r = -ENOMEM;
	if (!ji || set_str(&ji->api_url, json_get_str(doc, 0, "api_url")) < 0 ||
	    set_str(&ji->environment_id, json_get_str(doc, 0, "environment_id")) < 0 ||
	    set_str(&ji->worker_id, json_get_str(doc, 0, "worker_id")) < 0 ||
	    set_str(&ji->last_heartbeat, json_get_str(doc, 0, "last_heartbeat")) < 0 ||
	    set_str(&ji->workdir, json_get_str(doc, 0, "workdir")) < 0 ||
	    !(ji->work = strndup(work, work_len)))
		goto out;
	ji->work_len = work_len;
	json_int64(doc, json_get(doc, 0, "lease_until"), &ji->lease_until);
	if (strcmp(ji->path, path) != 0) {
		snprintf(err, errlen, "its name does not match its work id '%s'", work_id);
		r = -EINVAL;
		goto out;
	}
	r = load_calls(ji, doc, json_get(doc, 0, "calls"));
	if (r == -EINVAL)
		snprintf(err, errlen, "a call without an id");
	if (r == 0)
		r = replay_log(ji);
out:
	if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	json_free(doc);
	secret_wipe(b.data, b.len);
	buf_release(&b);
	if (r < 0) {
		journal_item_free(ji);
		return r;
	}
	*ret = ji;
	return 0;
}

int
journal_is_leftover(const char *dir, const char *name)
{
	size_t n = strlen(name);
	size_t suffix = strlen(CALLS_SUFFIX);
	struct buf snapshot = BUF_INIT(8192);
	int left;

	if (n > 4 && strcmp(name + n - 4, ".new") == 0)
		return 1; /* a write cut short: the runner holding the lock is us */
	if (n <= suffix || strcmp(name + n - suffix, CALLS_SUFFIX) != 0 ||
	    buf_printf(&snapshot, "%s/%.*s.json", dir, (int)(n - suffix), name) < 0) {
		buf_release(&snapshot);
		return 0;
	}
	left = access(snapshot.data, F_OK) < 0 && errno == ENOENT;
	buf_release(&snapshot);
	return left;
}

/* ---- what the record says ---------------------------------------------- */

static int
same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int
journal_item_matches(const struct journal_item *ji, const struct journal_origin *origin)
{
	return same(ji->api_url, origin->api_url) &&
	       same(ji->environment_id, origin->environment_id) &&
	       same(ji->worker_id, origin->worker_id);
}

const char *
journal_item_work_id(const struct journal_item *ji)
{
	return ji->work_id;
}

const char *
journal_item_work(const struct journal_item *ji, size_t *len)
{
	*len = ji->work_len;
	return ji->work;
}

const char *
journal_item_last_heartbeat(const struct journal_item *ji)
{
	return ji->last_heartbeat;
}

int64_t
journal_item_lease_until(const struct journal_item *ji)
{
	return ji->lease_until;
}

const char *
journal_item_workdir(const struct journal_item *ji)
{
	return ji->workdir;
}

enum journal_call
journal_item_call(const struct journal_item *ji, const char *call_id, int *is_error,
		  const char **text, size_t *len)
{
	const struct journal_call_rec *c = ji ? find_call(ji, call_id) : NULL;

	if (!c)
		return JOURNAL_CALL_UNKNOWN;
	if (!c->has_result)
		return JOURNAL_CALL_STARTED;
	*is_error = c->is_error;
	*text = c->text;
	*len = c->len;
	return JOURNAL_CALL_RESULT;
}

/* ---- changes ----------------------------------------------------------- */

int64_t
journal_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
journal_item_beaten(struct journal_item *ji, const char *last, long ttl_ms, uint64_t ago_ms)
{
	if (!ji || set_str(&ji->last_heartbeat, last) < 0)
		return;
	ji->lease_until = journal_now_ms() - (int64_t)ago_ms + ttl_ms;
	log_beat(ji);
}

void
journal_item_set_workdir(struct journal_item *ji, const char *dir)
{
	if (ji && set_str(&ji->workdir, dir) == 0)
		save_snapshot(ji);
}

void
journal_item_call_started(struct journal_item *ji, const char *call_id)
{
	if (ji && add_call(ji, call_id, NULL))
		log_call(ji, "started", call_id);
}

static void
batch_free(void *arg)
{
	struct result_sync *w = arg;

	while (w) {
		struct result_sync *next = w->next;

		free(w->log_path);
		free(w);
		w = next;
	}
}

/* On the thread: the first fdatasync commits every line written before
 * it; those after it find little left to do.  A log removed meanwhile
 * went with its item: nothing of it is to keep. */
static void
batch_work(void *arg)
{
	for (struct result_sync *w = arg; w; w = w->next) {
		int fd = open(w->log_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0) {
			w->err = errno == ENOENT ? 0 : -errno;
			continue;
		}
		if (fdatasync(fd) < 0)
			w->err = -errno;
		close(fd);
	}
}

static void batch_start(void);

/* The list is the offload's, freed once both sides are through with it
 * (batch_free). */
static void
batch_done(void *userdata, void *arg)
{
	(void)userdata;
	batch.running = NULL;
	for (struct result_sync *w = arg; w; w = w->next) {
		struct journal_call_rec *c = w->c;

		if (!c)
			continue;
		batch.attached--;
		w->c = NULL;
		c->sync = NULL;
		if (!w->err)
			metrics.results_synced++;
		else
			log_emit(LOG_LEVEL_WARNING, "journal", NULL,
				 "cannot sync the result of '%s' in '%s' (%s): a machine crash "
				 "before the API accepts it would lose it",
				 c->id, c->ji->log_path, strerror(-w->err));
	}
	batch_start();
}

static void
batch_start(void)
{
	struct result_sync *list = batch.queue;

	if (batch.running || !list)
		return;
	batch.queue = NULL;
	batch.tail = &batch.queue;
	if (offload_run(batch.loop, batch_work, batch_done, batch_free, list, NULL,
			&batch.running) < 0) {
		/* Not synced: logged. */
		for (struct result_sync *w = list; w; w = w->next)
			w->err = -ENOMEM;
		batch_done(NULL, list);
		batch_free(list);
	}
}

static void
batch_detach(struct result_sync *w)
{
	w->c = NULL;
	/* Nobody waits for any of it: no commit is needed. */
	if (--batch.attached == 0) {
		offload_cancel(batch.running);
		batch.running = NULL;
		batch_free(batch.queue);
		batch.queue = NULL;
		batch.tail = &batch.queue;
	}
}

/* The result is still not accepted: its line is synced with the next
 * batch. */
static void
sync_due(void *userdata)
{
	struct journal_call_rec *c = userdata;
	struct journal_item *ji = c->ji;
	struct result_sync *w = calloc(1, sizeof(*w));

	c->sync_timer = NULL;
	if (!w || !(w->log_path = strdup(ji->log_path))) {
		free(w);
		failed(ji, ji->log_path, -ENOMEM);
		return;
	}
	w->c = c;
	c->sync = w;
	batch.loop = ji->loop;
	batch.attached++;
	*batch.tail = w;
	batch.tail = &w->next;
	batch_start();
}

int
journal_item_result(struct journal_item *ji, const char *call_id, int is_error, const char *text,
		    size_t len)
{
	struct buf line = BUF_INIT(JOURNAL_MAX_RECORD);
	struct journal_call_rec *c;
	struct jsonw jw;
	int r;

	if (!ji)
		return 1;
	c = add_call(ji, call_id, NULL);
	if (!c || c->sync_timer || c->sync)
		return c ? -EBUSY : -ENOMEM;
	/* `text` may be the kept one (a result sent from the record): it is
	 * copied before the old copy goes. */
	r = set_result(c, is_error, text, len);
	if (r < 0)
		return r;
	jw_init(&jw, &line);
	write_result(&jw, c);
	r = jw_finish(&jw);
	if (r == 0)
		r = log_line(ji, &line);
	secret_wipe(line.data, line.len);
	buf_release(&line);
	if (r < 0)
		return 1;
	/* Written, it survives the runner; the machine's crash only once
	 * synced.  Most results are accepted long before: those cost no sync. */
	if (loop_add_timer(ji->loop, RESULT_SYNC_AFTER_MS, sync_due, c, &c->sync_timer) < 0)
		sync_due(c);
	return 0;
}

void
journal_item_call_over(struct journal_item *ji, const char *call_id)
{
	struct journal_call_rec *c = ji ? find_call(ji, call_id) : NULL;

	if (!c)
		return;
	/* The line waits for the next one (a call started, a heartbeat): one
	 * write less a call.  Were the runner to die first, the call would
	 * still be in the record, and answered in the session's history, where
	 * the restart looks first. */
	hold_over(ji, call_id);
	drop_call(ji, c);
	close_log_if_idle(ji);
}
