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
#include "journal.h"
#include "jsonw.h"
#include "log.h"
#include "nbio.h"
#include "offload.h"
#include "wipe.h"

/* A record holds at most a few results of HTTP_MAX_BODY's size. */
#define JOURNAL_MAX_RECORD (64u << 20)

struct journal_call_rec {
	struct journal_call_rec *next;
	char *id;
	int has_result;
	int is_error;
	char *text;
	size_t len;
	uint64_t written_in; /* the save that first held the result */
	void (*durable)(void *userdata);
	void *userdata;
};

struct journal_item {
	struct loop *loop;
	char *dir;
	char *path;
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

	uint64_t saves;
	struct offload *sync;
	int write_failed; /* logged once */
};

/* One fsync of the record and its directory, on a thread. */
struct sync_job {
	char *path;
	char *dir;
	uint64_t covers; /* the saves made when it started */
	int err;
};

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

static void
call_rec_free(struct journal_call_rec *c)
{
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

static int
encode(const struct journal_item *ji, struct buf *b)
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
		jw_object_begin(&w);
		jw_key(&w, "id");
		jw_string(&w, c->id);
		if (c->has_result) {
			jw_key(&w, "is_error");
			jw_bool(&w, c->is_error);
			jw_key(&w, "text");
			jw_stringn(&w, c->text, c->len);
		}
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	return jw_finish(&w);
}

/* Write the record to a new file and rename it over the old one, so that a
 * reader finds the whole old record or the whole new one. */
static int
write_record(const struct journal_item *ji, const struct buf *b)
{
	struct buf tmp = BUF_INIT(8192);
	int fd;
	int r;

	if (buf_printf(&tmp, "%s/.%s.new", ji->dir, ji->work_id) < 0)
		return -ENOMEM;
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = nbio_write_all(fd, b->data, b->len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp.data, ji->path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp.data);
out:
	buf_release(&tmp);
	return r;
}

static void maybe_sync(struct journal_item *ji);

static int
save(struct journal_item *ji)
{
	struct buf b = BUF_INIT(JOURNAL_MAX_RECORD);
	int r = encode(ji, &b);

	if (r == 0)
		r = write_record(ji, &b);
	secret_wipe(b.data, b.len);
	buf_release(&b);
	if (r < 0) {
		if (!ji->write_failed)
			log_emit(LOG_LEVEL_WARNING, "journal", NULL,
				 "cannot write '%s' (%s): were the runner to stop now, the item "
				 "could not be resumed; fix: free space in the state directory",
				 ji->path, strerror(-r));
		ji->write_failed = 1;
		return r;
	}
	if (ji->write_failed)
		log_emit(LOG_LEVEL_INFO, "journal", NULL, "'%s' is written again", ji->path);
	ji->write_failed = 0;
	ji->saves++;
	for (struct journal_call_rec *c = ji->calls; c; c = c->next)
		if (c->durable && !c->written_in)
			c->written_in = ji->saves;
	maybe_sync(ji);
	return 0;
}

static void
sync_job_free(void *arg)
{
	struct sync_job *job = arg;

	free(job->path);
	free(job->dir);
	free(job);
}

static void
sync_work(void *arg)
{
	struct sync_job *job = arg;
	int fd = open(job->path, O_RDONLY | O_CLOEXEC);

	/* The file may have been replaced meanwhile by a newer record, which
	 * holds the results this sync is for unless they were accepted. */
	if (fd < 0 || fdatasync(fd) < 0)
		job->err = errno;
	if (fd >= 0)
		close(fd);
	fd = open(job->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		job->err = job->err ? job->err : errno;
	if (fd >= 0)
		close(fd);
}

/* The next result whose save the sync covered, with a callback due. */
static struct journal_call_rec *
next_durable(struct journal_item *ji, uint64_t covers)
{
	for (struct journal_call_rec *c = ji->calls; c; c = c->next)
		if (c->durable && c->written_in && c->written_in <= covers)
			return c;
	return NULL;
}

/* Call back for each result the sync covered.  A callback may change the
 * record: the list is looked at again after each. */
static void
results_durable(struct journal_item *ji, uint64_t covers)
{
	struct journal_call_rec *c;

	while ((c = next_durable(ji, covers))) {
		void (*durable)(void *) = c->durable;

		c->durable = NULL;
		durable(c->userdata);
	}
}

static void
synced(void *userdata, void *arg)
{
	struct journal_item *ji = userdata;
	struct sync_job *job = arg;

	ji->sync = NULL;
	if (job->err && job->err != ENOENT)
		log_emit(LOG_LEVEL_WARNING, "journal", NULL, "cannot sync '%s': %s", job->path,
			 strerror(job->err));
	results_durable(ji, job->covers);
	maybe_sync(ji);
}

static void
maybe_sync(struct journal_item *ji)
{
	struct sync_job *job;
	int waiting = 0;

	if (ji->sync)
		return; /* synced() looks again */
	for (struct journal_call_rec *c = ji->calls; c; c = c->next)
		waiting |= c->durable && c->written_in;
	if (!waiting)
		return;
	job = calloc(1, sizeof(*job));
	if (job) {
		job->path = strdup(ji->path);
		job->dir = strdup(ji->dir);
		job->covers = ji->saves;
	}
	if (!job || !job->path || !job->dir ||
	    offload_run(ji->loop, sync_work, synced, sync_job_free, job, ji, &ji->sync) < 0) {
		if (job)
			sync_job_free(job);
		/* Written, not synced: send rather than hold the call. */
		results_durable(ji, ji->saves);
	}
}

static struct journal_item *
item_alloc(struct loop *loop, const char *dir, const char *work_id)
{
	struct journal_item *ji = calloc(1, sizeof(*ji));
	struct buf path = BUF_INIT(8192);

	if (!ji)
		return NULL;
	ji->loop = loop;
	if (!(ji->dir = strdup(dir)) || !(ji->work_id = strdup(work_id)) ||
	    buf_printf(&path, "%s/%s.json", dir, work_id) < 0) {
		buf_release(&path);
		journal_item_free(ji);
		return NULL;
	}
	ji->path = buf_steal(&path);
	if (!ji->path) {
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
	if (save(ji) < 0) {
		journal_item_free(ji);
		return NULL;
	}
	return ji;
}

static int
load_calls(struct journal_item *ji, const struct json_doc *doc, int arr)
{
	struct journal_call_rec **tail = &ji->calls;
	int n = json_size(doc, arr);
	int k = json_first(doc, arr);

	for (int i = 0; i < n; i++, k = json_next(doc, k)) {
		struct journal_call_rec *c;
		const char *id = json_get_str(doc, k, "id");
		const char *text = json_get_str(doc, k, "text");

		if (!id)
			return -EINVAL;
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		*tail = c;
		tail = &c->next;
		if (!(c->id = strdup(id)))
			return -ENOMEM;
		if (!text)
			continue;
		c->has_result = 1;
		c->is_error = json_bool(doc, json_get(doc, k, "is_error")) == 1;
		c->len = strlen(text);
		if (!(c->text = strdup(text)))
			return -ENOMEM;
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
	int fd;
	int r;

	snprintf(err, errlen, "damaged record");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open it: %s", strerror(-r));
		return r;
	}
	r = nbio_read_all(fd, nbio_buf_append, &b);
	close(fd);
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
	r = load_calls(ji, doc, json_get(doc, 0, "calls"));
	if (r == -EINVAL)
		snprintf(err, errlen, "a call without an id");
	if (r == 0 && strcmp(ji->path, path) != 0) {
		snprintf(err, errlen, "its name does not match its work id '%s'", work_id);
		r = -EINVAL;
	}
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

void
journal_item_free(struct journal_item *ji)
{
	if (!ji)
		return;
	offload_cancel(ji->sync);
	while (ji->calls) {
		struct journal_call_rec *c = ji->calls;

		ji->calls = c->next;
		call_rec_free(c);
	}
	if (ji->work)
		secret_wipe(ji->work, ji->work_len);
	free(ji->work);
	free(ji->dir);
	free(ji->path);
	free(ji->api_url);
	free(ji->environment_id);
	free(ji->worker_id);
	free(ji->work_id);
	free(ji->last_heartbeat);
	free(ji->workdir);
	free(ji);
}

void
journal_item_remove(struct journal_item *ji)
{
	if (!ji)
		return;
	if (unlink(ji->path) < 0 && errno != ENOENT)
		log_emit(LOG_LEVEL_WARNING, "journal", NULL, "cannot remove '%s': %s", ji->path,
			 strerror(errno));
	journal_item_free(ji);
}

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
journal_item_path(const struct journal_item *ji)
{
	return ji->path;
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
	save(ji);
}

void
journal_item_set_workdir(struct journal_item *ji, const char *dir)
{
	if (ji && set_str(&ji->workdir, dir) == 0)
		save(ji);
}

static struct journal_call_rec *
add_call(struct journal_item *ji, const char *id)
{
	struct journal_call_rec *c = find_call(ji, id);
	struct journal_call_rec **tail = &ji->calls;

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->id = strdup(id))) {
		free(c);
		return NULL;
	}
	while (*tail)
		tail = &(*tail)->next;
	*tail = c;
	return c;
}

void
journal_item_call_started(struct journal_item *ji, const char *call_id)
{
	if (ji && add_call(ji, call_id))
		save(ji);
}

int
journal_item_result(struct journal_item *ji, const char *call_id, int is_error, const char *text,
		    size_t len, void (*durable)(void *userdata), void *userdata)
{
	struct journal_call_rec *c;
	char *copy;

	if (!ji)
		return 1;
	c = add_call(ji, call_id);
	copy = malloc(len + 1);
	if (!c || !copy) {
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	free(c->text);
	c->text = copy;
	c->len = len;
	c->has_result = 1;
	c->is_error = is_error;
	c->durable = durable;
	c->userdata = userdata;
	c->written_in = 0;
	if (save(ji) < 0) {
		c->durable = NULL;
		return -EIO;
	}
	/* Called back already when no sync could start. */
	return c->durable ? 0 : 1;
}

void
journal_item_forget_callbacks(struct journal_item *ji, void *userdata)
{
	if (!ji)
		return;
	for (struct journal_call_rec *c = ji->calls; c; c = c->next)
		if (c->userdata == userdata)
			c->durable = NULL;
}

void
journal_item_call_over(struct journal_item *ji, const char *call_id)
{
	struct journal_call_rec **p;

	if (!ji)
		return;
	for (p = &ji->calls; *p; p = &(*p)->next) {
		if (strcmp((*p)->id, call_id) == 0) {
			struct journal_call_rec *c = *p;

			*p = c->next;
			call_rec_free(c);
			save(ji);
			return;
		}
	}
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
