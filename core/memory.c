/* SPDX-License-Identifier: MIT */
/*
 * The memory stores of a session (see memory.h): mounting them from the
 * session's resources, running one operation at a time (download, sync,
 * flush) over every store, and the teardown.  One store's pass is in
 * core/memory-sync.c.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "json.h"
#include "jsonw.h"
#include "memory-state.h"

/* ---- driving ------------------------------------------------------------- */

static void op_done(struct memory *m);
void
memory_store_done(struct memory *m)
{
	memory_pass_reset(m);
	m->stage = ST_NONE;
	if (m->op == OP_DOWNLOAD || m->op == OP_NONE)
		return;
	m->si++;
	if (m->si < m->n_stores) {
		memory_store_begin(m);
		return;
	}
	op_done(m);
}

static void finish_phase(struct memory *m);

static void
op_done(struct memory *m)
{
	enum op op = m->op;
	memory_done_cb done = m->done;
	void *ud = m->userdata;

	memory_pass_reset(m);
	m->stage = ST_NONE;
	m->op = OP_NONE;
	m->done = NULL;
	if (op == OP_SYNC || op == OP_DOWNLOAD)
		m->last_sync = loop_now_ms();
	if (m->finishing) {
		m->phase++;
		finish_phase(m);
		return;
	}
	loop_cancel_timer(m->bound);
	m->bound = NULL;
	if (done)
		done(ud, m->failed);
}

static void
start_op(struct memory *m, enum op op, int final)
{
	m->op = op;
	m->final = final;
	m->si = 0;
	m->failed = 0;
	if (m->n_stores == 0) {
		op_done(m);
		return;
	}
	memory_store_begin(m);
}

/* ---- download --------------------------------------------------------------- */

static int
is_path_legal(const char *p)
{
	const char *s = p;

	if (p[0] != '/')
		return 0;
	while ((s = strstr(s, "..")) != NULL) {
		if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
			return 0;
		s += 2;
	}
	return 1;
}

static void
json_quote(struct buf *out, const char *s)
{
	struct jsonw w;

	jw_init(&w, out);
	jw_string(&w, s);
	jw_finish(&w);
}

/* Mount the store of resource m->resource; 0 when its listing started, 1
 * when it was not a store, <0 after logging the failure. */
static int
mount_resource(struct memory *m, struct json_doc *doc, int res)
{
	const char *type = json_get_str(doc, res, "type");
	const char *id = json_get_str(doc, res, "memory_store_id");
	const char *mount = json_get_str(doc, res, "mount_path");
	const char *name = json_get_str(doc, res, "name");
	const char *access = json_get_str(doc, res, "access");
	struct store *st;
	struct stat sb;
	int r;

	if (!type || strcmp(type, "memory_store") != 0)
		return 1;
	if (!id)
		id = "";
	if (mount && *mount && !is_path_legal(mount)) {
		struct buf q = BUF_INIT(8192);

		json_quote(&q, mount);
		memory_log(m, LOG_LEVEL_ERR,
			   "memory store mount_path is not a clean absolute path: %s "
			   "(memory_store_id=%s)",
			   q.data ? q.data : "", id);
		buf_release(&q);
		return -EINVAL;
	}
	st = &m->stores[m->n_stores];
	memset(st, 0, sizeof(*st));
	st->id = strdup(id);
	if (mount && *mount) {
		st->configured = strdup(mount);
	} else {
		struct buf p = BUF_INIT(1u << 20);

		buf_printf(&p, "%s/memory/%s", m->workdir, name && *name ? name : id);
		st->configured = buf_steal(&p);
	}
	st->root = st->configured ? fsutil_resolve("/", st->configured) : NULL;
	st->read_only = access && strcmp(access, "read_only") == 0;
	if (!st->id || !st->configured || !st->root) {
		memory_log(m, LOG_LEVEL_ERR, "out of memory");
		goto fail;
	}
	m->mounting = (int)m->n_stores++;
	/* A root that exists is a dead run's leftovers: the first sync would
	 * upload them into the store. */
	if (lstat(st->configured, &sb) == 0 || errno != ENOENT) {
		memory_log(m, LOG_LEVEL_ERR,
			   "something already exists at the memory store's path: %s "
			   "(memory_store_id=%s); "
			   "it must not exist when the session starts",
			   st->configured, st->id);
		return -EEXIST;
	}
	st->created = 1;
	r = fsutil_mkdir_p(st->root, 0700);
	if (r < 0) {
		memory_log(
			m, LOG_LEVEL_ERR,
			"cannot create the memory store's folder: %s (memory_store_id=%s): %s; the "
			"worker host must make this mount path writable",
			st->configured, st->id, strerror(-r));
		return r;
	}
	m->si = m->n_stores - 1;
	m->pass = PASS_DOWNLOAD;
	r = memory_stamp_and_list(m, st);
	if (r < 0) {
		memory_log(m, LOG_LEVEL_ERR,
			   "failed to download memory store memory_store_id=%s: %s", st->id,
			   strerror(-r));
		return r;
	}
	return 0;
fail:
	free(st->id);
	free(st->configured);
	free(st->root);
	memset(st, 0, sizeof(*st));
	return -ENOMEM;
}

static void
store_release(struct store *st)
{
	free(st->id);
	free(st->root);
	free(st->configured);
	memory_map_clear(&st->baseline);
	memory_map_clear(&st->refused);
	memory_map_clear(&st->pending);
	memory_map_clear(&st->sent);
	memory_map_clear(&st->restore);
	memory_map_clear(&st->hashes);
	memset(st, 0, sizeof(*st));
}

/* A store could not be mounted: its half-made folder goes (a pre-existing
 * one stays as found), and the item fails. */
void
memory_mount_failed(struct memory *m)
{
	if (m->mounting >= 0 && (size_t)m->mounting == m->n_stores - 1) {
		struct store *st = &m->stores[m->mounting];

		if (st->created)
			fsutil_remove_tree(st->root);
		store_release(st);
		m->n_stores--;
	}
	m->mounting = -1;
	m->failed = 1;
	op_done(m);
}

void
memory_download_next(struct memory *m)
{
	struct json_doc *doc = NULL;
	int list;
	int n;
	int e;

	m->mounting = -1;
	if (json_parse(m->session_json, strlen(m->session_json), &doc, NULL, 0) < 0) {
		op_done(m);
		return;
	}
	list = json_get(doc, 0, "resources");
	n = json_kind(doc, list) == JSON_ARRAY ? json_size(doc, list) : 0;
	e = json_first(doc, list);
	for (int i = 0; i < m->resource && e >= 0; i++)
		e = json_next(doc, e);
	while (m->resource < n) {
		int r;

		m->resource++;
		r = mount_resource(m, doc, e);
		e = json_next(doc, e);
		if (r == 0) {
			json_free(doc);
			return;
		}
		if (r < 0) {
			json_free(doc);
			memory_mount_failed(m);
			return;
		}
	}
	json_free(doc);
	m->resource = -1;
	for (size_t i = 0; i < m->n_stores; i++) {
		strv_push(&m->roots, m->stores[i].root);
		if (m->stores[i].read_only)
			strv_push(&m->ro_roots, m->stores[i].root);
	}
	strv_array(&m->roots);
	strv_array(&m->ro_roots);
	op_done(m);
}

int
memory_session_has_stores(const char *session_json)
{
	struct json_doc *doc = NULL;
	int list;
	int found = 0;

	if (!session_json || json_parse(session_json, strlen(session_json), &doc, NULL, 0) < 0)
		return 0;
	list = json_get(doc, 0, "resources");
	for (int i = 0, e = json_first(doc, list); e >= 0 && i < json_size(doc, list);
	     i++, e = json_next(doc, e)) {
		const char *type = json_get_str(doc, e, "type");

		if (type && strcmp(type, "memory_store") == 0)
			found = 1;
	}
	json_free(doc);
	return found;
}

int
memory_download(struct memory *m, const char *session_json, memory_done_cb done, void *userdata)
{
	struct json_doc *doc = NULL;
	int list;
	int n;

	if (json_parse(session_json, strlen(session_json), &doc, NULL, 0) < 0)
		return -EINVAL;
	list = json_get(doc, 0, "resources");
	n = json_kind(doc, list) == JSON_ARRAY ? json_size(doc, list) : 0;
	json_free(doc);
	m->stores = calloc((size_t)n + 1, sizeof(*m->stores));
	m->session_json = strdup(session_json);
	if (!m->stores || !m->session_json)
		return -ENOMEM;
	m->done = done;
	m->userdata = userdata;
	m->op = OP_DOWNLOAD;
	m->resource = 0;
	m->failed = 0;
	m->mounting = -1;
	m->stage = ST_RESOURCES;
	memory_defer(m);
	return 0;
}

/* ---- the instance ---------------------------------------------------------- */

struct memory *
memory_new(struct loop *loop, struct api *api, const struct memory_options *o)
{
	struct memory *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->loop = loop;
	m->api = api;
	m->ctx = o->ctx;
	m->interval_ms = o->sync_interval_ms >= 5000 ? o->sync_interval_ms : 5000;
	m->workdir = strdup(o->workdir);
	m->token = strdup(o->token);
	m->last_sync = loop_now_ms();
	strv_array(&m->roots);
	strv_array(&m->ro_roots);
	if (!m->workdir || !m->token) {
		memory_free(m);
		return NULL;
	}
	return m;
}

const char *const *
memory_roots(struct memory *m)
{
	return (const char *const *)strv_array(&m->roots);
}

const char *const *
memory_read_only_roots(struct memory *m)
{
	return (const char *const *)strv_array(&m->ro_roots);
}

void
memory_sync_if_due(struct memory *m)
{
	if (!m || m->op != OP_NONE || m->finishing || m->n_stores == 0 || m->resource >= 0)
		return;
	if (loop_now_ms() - m->last_sync < (uint64_t)m->interval_ms)
		return;
	start_op(m, OP_SYNC, 0);
}

static void cancel_op(struct memory *m);

/* ---- files a stopped call left missing (#restoreMissing) ------------------ */

/* Files listed between two turns of the loop. */
#define RESTORE_SLICE 256

static void
restore_cancel(struct memory *m)
{
	loop_cancel_timer(m->restore_timer);
	m->restore_timer = NULL;
	memory_walk_close(&m->restore_walk);
	memory_map_clear(&m->restore_here);
	m->restoring = false;
}

/* The store's known files that its folder no longer holds are pulled
 * again at the next sync, never deleted. */
static void
restore_store(struct memory *m, struct store *st)
{
	const struct memory_map *known[] = { &st->baseline, &st->sent };

	for (size_t k = 0; k < 2; k++) {
		for (size_t j = 0; j < known[k]->n; j++) {
			struct memory_entry *e;

			if (memory_map_find(&m->restore_here, known[k]->v[j].rel))
				continue;
			e = memory_map_set(&st->restore, known[k]->v[j].rel, NULL);
			if (e)
				e->t = m->restore_at;
		}
	}
}

static void
restore_slice(void *userdata)
{
	struct memory *m = userdata;
	struct memory_walk_file f;
	int r = 1;

	m->restore_timer = NULL;
	for (int i = 0; i < RESTORE_SLICE && r > 0; i++) {
		r = memory_walk_next(&m->restore_walk, &f);
		if (r > 0 && !memory_map_set(&m->restore_here, f.rel, NULL))
			r = -ENOMEM;
	}
	if (r <= 0) {
		/* A folder that cannot be read counts as empty. */
		if (r < 0)
			memory_map_clear(&m->restore_here);
		memory_walk_close(&m->restore_walk);
		restore_store(m, &m->stores[m->restore_si]);
		memory_map_clear(&m->restore_here);
		if (++m->restore_si == m->n_stores) {
			m->restoring = false;
			if (m->stage == ST_AWAIT_RESTORE && m->op != OP_NONE)
				memory_defer(m);
			return;
		}
		if (memory_walk_open(&m->restore_walk, m->stores[m->restore_si].root) < 0)
			memory_walk_close(&m->restore_walk);
	}
	if (loop_add_timer(m->loop, 0, restore_slice, m, &m->restore_timer) < 0) {
		memory_log(m, LOG_LEVEL_ERR, "out of memory");
		restore_cancel(m);
		if (m->stage == ST_AWAIT_RESTORE && m->op != OP_NONE)
			memory_defer(m);
	}
}

void
memory_restore_missing(struct memory *m)
{
	if (!m || m->resource >= 0 || m->n_stores == 0)
		return;
	/* A listing under way starts again: what is missing now counts. */
	restore_cancel(m);
	m->restoring = true;
	m->restore_at = loop_now_ms();
	m->restore_si = 0;
	if (memory_walk_open(&m->restore_walk, m->stores[0].root) < 0)
		memory_walk_close(&m->restore_walk);
	restore_slice(m);
}

static void
flush_cut(void *userdata)
{
	struct memory *m = userdata;

	m->bound = NULL;
	cancel_op(m);
	memory_log(m, LOG_LEVEL_WARNING, "memory flush cut off after %ldms",
		   MEMORY_FLUSH_TIMEOUT_MS);
}

void
memory_flush(struct memory *m)
{
	if (!m || m->op != OP_NONE || m->finishing || m->n_stores == 0 || m->resource >= 0)
		return;
	if (loop_add_timer(m->loop, MEMORY_FLUSH_TIMEOUT_MS, flush_cut, m, &m->bound) < 0)
		return;
	start_op(m, OP_FLUSH, 0);
}

static void
cancel_op(struct memory *m)
{
	api_call_cancel(m->call);
	m->call = NULL;
	loop_cancel_timer(m->timer);
	m->timer = NULL;
	memory_pass_reset(m);
	m->stage = ST_NONE;
	m->op = OP_NONE;
	m->done = NULL;
}

/* #dispose: remove what the download created, unless the marker check
 * fails on a non-empty folder. */
static void
dispose(struct memory *m)
{
	for (size_t i = 0; i < m->n_stores; i++) {
		struct store *st = &m->stores[i];
		bool has_files;
		const char *distrust = memory_folder_distrust(st, &has_files);
		int r;

		if (distrust && has_files) {
			memory_log(m, LOG_LEVEL_WARNING,
				   "%s; leaving the memory store folder on disk (root '%s', "
				   "memory_store_id=%s)",
				   distrust, st->root, st->id);
			continue;
		}
		if (!st->created)
			continue;
		r = fsutil_remove_tree(st->root);
		if (r < 0)
			memory_log(m, LOG_LEVEL_WARNING,
				   "failed to remove the memory store folder '%s' "
				   "(memory_store_id=%s): "
				   "%s",
				   st->root, st->id, strerror(-r));
		else
			memory_log(m, LOG_LEVEL_INFO,
				   "removed memory store dir '%s' (memory_store_id=%s)", st->root,
				   st->id);
	}
	memory_pass_reset(m);
}

static void
bound_fired(void *userdata)
{
	struct memory *m = userdata;

	m->bound = NULL;
	cancel_op(m);
	if (m->phase == 0)
		memory_log(m, LOG_LEVEL_WARNING,
			   "final memory sync cut off after %ldms; the flush that follows still "
			   "uploads "
			   "changed files",
			   MEMORY_FLUSH_TIMEOUT_MS);
	else
		memory_log(m, LOG_LEVEL_WARNING,
			   "memory flush cut off after %ldms; changed files it had not uploaded "
			   "yet are "
			   "not "
			   "saved",
			   MEMORY_FLUSH_TIMEOUT_MS);
	m->phase++;
	finish_phase(m);
}

static void
finish_phase(struct memory *m)
{
	loop_cancel_timer(m->bound);
	m->bound = NULL;
	if (m->phase == 0 && !m->clean)
		m->phase = 1;
	if (m->phase <= 1) {
		if (loop_add_timer(m->loop, MEMORY_FLUSH_TIMEOUT_MS, bound_fired, m, &m->bound) < 0)
			m->phase = 2;
		else {
			start_op(m, m->phase == 0 ? OP_SYNC : OP_FLUSH, 1);
			return;
		}
	}
	dispose(m);
	m->finishing = 0;
	if (m->finish_done)
		m->finish_done(m->finish_userdata, 0);
}

int
memory_finish(struct memory *m, int clean, memory_done_cb done, void *userdata)
{
	cancel_op(m);
	m->finishing = 1;
	m->clean = clean;
	m->phase = m->resource >= 0 ? 2 : 0; /* a download that never ended: only dispose */
	m->finish_done = done;
	m->finish_userdata = userdata;
	finish_phase(m);
	return 0;
}

void
memory_free(struct memory *m)
{
	if (!m)
		return;
	cancel_op(m);
	restore_cancel(m);
	loop_cancel_timer(m->bound);
	for (size_t i = 0; i < m->n_stores; i++)
		store_release(&m->stores[i]);
	free(m->stores);
	strv_release(&m->roots);
	strv_release(&m->ro_roots);
	free(m->session_json);
	free(m->workdir);
	if (m->token)
		memset(m->token, 0, strlen(m->token));
	free(m->token);
	free(m);
}
