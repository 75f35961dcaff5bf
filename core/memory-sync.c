/* SPDX-License-Identifier: MIT */
/*
 * One memory store's pass against the memory-store API, after the SDK's
 * SessionMemoryStores: the folder scanned in slices (hashes cached by the
 * files' stamps), the store listed, each path decided by core/memory-merge.c
 * and carried out (uploads, corroborated deletes, pulls), one request at a
 * time; and the full download that fills a folder.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsutil.h"
#include "json.h"
#include "jsonw.h"
#include "memory-merge.h"
#include "memory-state.h"
#include "sha256.h"
#include "utf8.h"

/* Page sizes of the listings: the API's maximum per view. */
#define LIST_PAGE_SIZE 100
#define FULL_LIST_PAGE_SIZE 20
/* Per-sync remote-delete cap bounds. */
#define DELETE_CAP_FLOOR 8
#define DELETE_CAP_CEILING 50
#define REQUEST_TIMEOUT_MS 60000L
/* One slice of a folder's scan: at most this many entries, and files of at
 * most this many bytes read, between two turns of the loop. */
#define SCAN_SLICE_ENTRIES 256
#define SCAN_SLICE_BYTES (1u << 20)
/* Paths decided between two turns of the loop. */
#define PATHS_SLICE 1024

static bool
str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

void
memory_log(struct memory *m, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emitv(level, "memory", m->ctx, fmt, ap);
	va_end(ap);
}

void
memory_defer(struct memory *m)
{
	loop_cancel_timer(m->timer);
	m->timer = NULL;
	if (loop_add_timer(m->loop, 0, memory_step, m, &m->timer) < 0)
		memory_log(m, LOG_LEVEL_ERR, "out of memory");
}

void
memory_pass_reset(struct memory *m)
{
	memory_walk_close(&m->walk);
	memory_map_clear(&m->scanned);
	memory_map_clear(&m->local);
	memory_map_clear(&m->remote);
	memory_map_clear(&m->next_base);
	memory_map_clear(&m->pulls);
	strv_release(&m->paths);
	free(m->page);
	m->page = NULL;
	free(m->up_rel);
	m->up_rel = NULL;
	free(m->up_existing_id);
	m->up_existing_id = NULL;
	free(m->del_rel);
	m->del_rel = NULL;
	m->pi = m->pull_i = 0;
	m->marker_ok = 0;
	m->distrust = NULL;
	m->del_attempted = m->del_capped = 0;
}

/* ---- files under a store's root (the SDK's FileStore) -------------------- */

static void
marker_text(const struct store *st, struct buf *out)
{
	buf_printf(out, "version 1\n%s", st->id);
}

static void
marker_sha(const struct store *st, char hex[65])
{
	struct buf b = BUF_INIT(4096);

	marker_text(st, &b);
	sha256_hex(b.data ? b.data : "", b.len, hex);
	buf_release(&b);
}

/* ---- scanning a folder: the marker check and the file listing -----------
 *
 * One walk of the folder (#scanMarker), in slices of SCAN_SLICE_ENTRIES
 * entries and SCAN_SLICE_BYTES read, each from a timer, so that a folder
 * of 100,000 files never holds up the loop the other sessions share.  A
 * file is read only when its stamp (device, inode, size, mtime) differs
 * from the one its cached hash was taken at. */

static int64_t
wall_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* The hash of the walk's current file, from the cache or read: 0,
 * -ENOENT when it is gone or no longer a regular file, other -errno. */
static int
scan_hash(struct memory *m, struct store *st, const struct memory_walk_file *f, char hex[65],
	  size_t *read)
{
	const struct memory_entry *cached = memory_map_find(&st->hashes, f->rel);
	struct memory_stamp stamp;
	struct memory_entry *e;
	int r;

	memory_stamp_of(&f->sb, &stamp);
	if (cached && memory_stamp_holds(&cached->stamp, &stamp)) {
		memcpy(hex, cached->sha, 65);
	} else {
		r = memory_files_hash_at(f->dirfd, f->name, hex, &stamp);
		if (r < 0)
			return r;
		*read += (size_t)stamp.size;
		if (!memory_stamp_settled(&stamp, m->scan_started))
			memset(&stamp, 0, sizeof(stamp));
	}
	e = memory_map_set(&m->scanned, f->rel, hex);
	if (!e)
		return -ENOMEM;
	e->stamp = stamp;
	return 0;
}

static void scanned(struct memory *m);

/* Start the walk of the current store's folder; scanned() follows. */
static void
scan_start(struct memory *m)
{
	struct store *st = &m->stores[m->si];
	int r;

	memory_map_clear(&m->local);
	memory_map_clear(&m->scanned);
	m->scan_started = wall_sec();
	m->scan_began = loop_now_ms();
	m->scan_error = 0;
	r = memory_walk_open(&m->walk, st->root);
	if (r < 0) {
		m->scan_error = r;
		scanned(m);
		return;
	}
	m->stage = ST_SCANNING;
	memory_defer(m);
}

static void
scan_slice(struct memory *m)
{
	struct store *st = &m->stores[m->si];
	struct memory_walk_file f;
	size_t read = 0;
	int r = 0;

	for (int i = 0; i < SCAN_SLICE_ENTRIES && read < SCAN_SLICE_BYTES; i++) {
		char hex[65];

		r = memory_walk_next(&m->walk, &f);
		if (r <= 0)
			break;
		r = scan_hash(m, st, &f, hex, &read);
		if (r == -ENOMEM)
			break;
		if (r == 0 && !memory_map_set(&m->local, f.rel, hex)) {
			r = -ENOMEM;
			break;
		}
		r = 1;
	}
	if (r > 0) {
		memory_defer(m);
		return;
	}
	m->scan_error = r;
	scanned(m);
}

/* The walk ended: the marker check, and the hashes kept for the next. */
static int
scan_finish(struct memory *m, struct store *st)
{
	char want[65];
	const char *marker;

	memory_walk_close(&m->walk);
	/* What was hashed holds even when the walk failed part way. */
	memory_map_take(&st->hashes, &m->scanned);
	if (m->scan_error < 0)
		return m->scan_error;
	marker_sha(st, want);
	marker = memory_map_sha(&m->local, MEMORY_MARKER);
	m->marker_ok = str_eq(marker, want);
	m->distrust = m->marker_ok ? NULL
		      : marker	   ? "the marker file does not match this store"
				   : "the marker file is gone";
	memory_map_del(&m->local, MEMORY_MARKER);
	/* A file that came back needs no pull. */
	for (size_t i = st->restore.n; i-- > 0;) {
		const struct memory_entry *e = &st->restore.v[i];

		/* A walk that began before the call was stopped may have seen
		 * the file before the call moved it away. */
		if (e->t < m->scan_began && memory_map_find(&m->local, e->rel))
			memory_map_del(&st->restore, e->rel);
	}
	return 0;
}

/* Why the folder's marker is not this store's (NULL when it is), and
 * whether it holds a regular file besides: names only, nothing read but the
 * marker.  For the teardown, which must not walk the folder twice. */
const char *
memory_folder_distrust(const struct store *st, bool *has_files)
{
	struct memory_walk w = MEMORY_WALK_INIT;
	struct memory_walk_file f;
	char want[65];
	char got[65];
	int r;

	*has_files = false;
	r = memory_walk_open(&w, st->root);
	while (r == 0 && memory_walk_next(&w, &f) > 0) {
		if (strcmp(f.rel, MEMORY_MARKER) != 0) {
			*has_files = true;
			break;
		}
	}
	memory_walk_close(&w);
	marker_sha(st, want);
	r = memory_files_hash(st->root, MEMORY_MARKER, got);
	if (r == 0 && strcmp(got, want) == 0)
		return NULL;
	return r == -ENOENT ? "the marker file is gone"
			    : "the marker file does not match this store";
}

/* ---- requests ------------------------------------------------------------ */

static int
request(struct memory *m, const char *method, const char *path, const char *body, size_t len,
	api_done_cb done)
{
	struct api_request r;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.path = path;
	r.token = m->token;
	r.beta = MEMORY_BETA;
	r.helper = "environments-worker";
	r.body = body;
	r.body_len = len;
	r.timeout_ms = REQUEST_TIMEOUT_MS;
	r.max_retries = -1;
	return api_call(m->api, &r, done, m, &m->call);
}

static const char *
res_error(const struct api_result *res)
{
	if (!res->status)
		return res->transport_error ? res->transport_error : "no response";
	return res->error_message ? res->error_message : "HTTP error";
}

/* ---- listing -------------------------------------------------------------- */

static void list_page(struct memory *m);
static void listed(struct memory *m);

static void
list_done(void *userdata, const struct api_result *res)
{
	struct memory *m = userdata;
	struct store *st = &m->stores[m->si];
	int data;
	int e;
	const char *next;

	m->call = NULL;
	if (res->status != 200 || !res->doc || json_kind(res->doc, 0) != JSON_OBJECT) {
		if (m->pass == PASS_DOWNLOAD) {
			memory_log(m, LOG_LEVEL_ERR,
				   "failed to download memory store memory_store_id=%s: %s", st->id,
				   res_error(res));
			memory_mount_failed(m);
		} else {
			memory_log(m, LOG_LEVEL_WARNING,
				   "memory sync failed for memory_store_id=%s: %s", st->id,
				   res_error(res));
			memory_store_done(m);
		}
		return;
	}
	data = json_get(res->doc, 0, "data");
	e = json_first(res->doc, data);
	for (int i = 0; i < json_size(res->doc, data); i++, e = json_next(res->doc, e)) {
		const char *type = json_get_str(res->doc, e, "type");
		const char *path = json_get_str(res->doc, e, "path");
		const char *id = json_get_str(res->doc, e, "id");
		const char *sha = json_get_str(res->doc, e, "content_sha256");
		struct memory_entry *en;

		if (!type || strcmp(type, "memory") != 0 || !path || !id || !sha)
			continue;
		while (*path == '/')
			path++;
		if (strcmp(path, MEMORY_MARKER) == 0) {
			memory_log(m, LOG_LEVEL_WARNING,
				   "the server listed the reserved marker path; skipping "
				   "(memory_store_id=%s)",
				   st->id);
			continue;
		}
		if (m->pass == PASS_DOWNLOAD || m->pass == PASS_RECOVER) {
			/* A full listing: write each memory as it comes. */
			const char *content = json_get_str(res->doc, e, "content");
			int r = memory_files_put(st->root, path, content ? content : "",
						 content ? strlen(content) : 0);

			if (r < 0) {
				memory_log(m, LOG_LEVEL_WARNING,
					   "failed to write memory '%s' (memory_store_id=%s): %s",
					   path, st->id, strerror(-r));
				continue;
			}
			if (!memory_map_set(&st->baseline, path, sha))
				memory_log(m, LOG_LEVEL_ERR, "out of memory");
			continue;
		}
		en = memory_map_set(&m->remote, path, sha);
		if (en) {
			free(en->id);
			en->id = strdup(id);
		}
	}
	next = json_get_str(res->doc, 0, "next_page");
	free(m->page);
	m->page = next && *next ? strdup(next) : NULL;
	if (m->page) {
		list_page(m);
		return;
	}
	listed(m);
}

static void
list_page(struct memory *m)
{
	struct store *st = &m->stores[m->si];
	struct buf path = BUF_INIT(8192);
	int full = strcmp(m->list_view, "full") == 0;
	int r;

	r = api_path(&path, "/v1/memory_stores/%s/memories?view=%s&limit=%d", st->id, m->list_view,
		     full ? FULL_LIST_PAGE_SIZE : LIST_PAGE_SIZE);
	if (r == 0 && m->page)
		r = api_path(&path, "&page=%s", m->page);
	if (r == 0)
		r = request(m, "GET", path.data, NULL, 0, list_done);
	buf_release(&path);
	if (r < 0) {
		struct api_result res = { .transport_error = "cannot start the request" };

		list_done(m, &res);
	}
}

/* ---- the per-path merge (#syncPath, #corroboratedDelete, #upload) --------- */

static void paths_run(struct memory *m);
static void pull_next(struct memory *m);

static void
path_result(struct memory *m, const char *rel, const char *sha)
{
	if (sha && !memory_map_set(&m->next_base, rel, sha))
		memory_log(m, LOG_LEVEL_ERR, "out of memory");
}

static void upload_start(struct memory *m, int create_only);

static void
upload_finish(struct memory *m, const char *sha)
{
	struct store *st = &m->stores[m->si];

	if (m->op == OP_SYNC) {
		path_result(m, m->up_rel, sha ? sha : m->up_fallback);
	} else if (sha && !memory_map_set(&st->baseline, m->up_rel, sha)) {
		memory_log(m, LOG_LEVEL_ERR, "out of memory");
	}
	free(m->up_rel);
	m->up_rel = NULL;
	free(m->up_existing_id);
	m->up_existing_id = NULL;
	m->pi++;
	memory_defer(m);
}

static void
upload_done(void *userdata, const struct api_result *res)
{
	struct memory *m = userdata;
	struct store *st = &m->stores[m->si];
	const char *rel = m->up_rel;
	int existing = m->up_existing_id != NULL;
	int permanent;

	m->call = NULL;
	if (res->status == 200 && res->doc) {
		const char *sha = json_get_str(res->doc, 0, "content_sha256");
		char copy[65];

		memory_map_del(&st->refused, rel);
		memory_map_del(&st->sent, rel);
		snprintf(copy, sizeof(copy), "%s", sha ? sha : "");
		upload_finish(m, sha ? copy : NULL);
		return;
	}
	if (existing && res->status == 404) {
		/* Deleted remotely since the listing: this file is the only copy. */
		upload_start(m, 1);
		return;
	}
	permanent = res->status == 400 || res->status == 413;
	if (existing && res->status == 409) {
		memory_log(
			m, LOG_LEVEL_WARNING,
			"memory changed both locally and remotely; the upload was refused and the "
			"local "
			"edit loses (path '%s', memory_store_id=%s)",
			rel, st->id);
	} else if (permanent && m->up_has_local) {
		memory_map_set(&st->refused, rel, m->up_local);
		memory_log(m, LOG_LEVEL_WARNING,
			   "the server rejected this memory file, so it stays un-synced until its "
			   "content "
			   "changes (path '%s', memory_store_id=%s): %s",
			   rel, st->id, res_error(res));
	} else {
		memory_log(m, LOG_LEVEL_WARNING,
			   "failed to upload memory '%s' (memory_store_id=%s): %s", rel, st->id,
			   res_error(res));
	}
	upload_finish(m, NULL);
}

static int
is_utf8(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		int32_t cp;
		size_t k = utf8_decode((const unsigned char *)s + i, n - i, &cp);

		if (cp < 0)
			return 0;
		i += k;
	}
	return 1;
}

/* Push m->up_rel: an update over m->up_existing_* or a create. */
static void
upload_start(struct memory *m, int create_only)
{
	struct store *st = &m->stores[m->si];
	struct buf data = BUF_INIT(MEMORY_MAX_FILE_BYTES);
	struct buf body = BUF_INIT(2 * MEMORY_MAX_FILE_BYTES);
	struct buf path = BUF_INIT(8192);
	struct jsonw w;
	const char *content;
	size_t clen;
	char sent[65];
	int r;

	if (create_only) {
		free(m->up_existing_id);
		m->up_existing_id = NULL;
	}
	r = memory_files_get(st->root, m->up_rel, &data);
	if (r == -ENOENT) {
		buf_release(&data);
		upload_finish(m, NULL);
		return;
	}
	if (r < 0 || !is_utf8(data.data ? data.data : "", data.len)) {
		/* FileStoreError: permanent. */
		if (m->up_has_local)
			memory_map_set(&st->refused, m->up_rel, m->up_local);
		memory_log(m, LOG_LEVEL_WARNING,
			   "the server rejected this memory file, so it stays un-synced until its "
			   "content "
			   "changes (path '%s', memory_store_id=%s): %s",
			   m->up_rel, st->id, r < 0 ? strerror(-r) : "is not valid utf-8");
		buf_release(&data);
		upload_finish(m, NULL);
		return;
	}
	content = data.data ? data.data : "";
	clen = data.len;
	/* TextDecoder drops a byte-order mark: hashed as sent. */
	if (clen >= 3 && memcmp(content, "\xef\xbb\xbf", 3) == 0) {
		content += 3;
		clen -= 3;
	}
	sha256_hex(content, clen, sent);
	memory_map_set(&st->sent, m->up_rel, sent);
	jw_init(&w, &body);
	jw_object_begin(&w);
	if (m->up_existing_id) {
		jw_key(&w, "content");
		jw_stringn(&w, content, clen);
		jw_key(&w, "precondition");
		jw_object_begin(&w);
		jw_key(&w, "type");
		jw_string(&w, "content_sha256");
		jw_key(&w, "content_sha256");
		jw_string(&w, m->up_existing_sha);
		jw_object_end(&w);
		r = api_path(&path, "/v1/memory_stores/%s/memories/%s", st->id, m->up_existing_id);
	} else {
		struct buf p = BUF_INIT(8192);

		buf_printf(&p, "/%s", m->up_rel);
		jw_key(&w, "path");
		jw_string(&w, p.data);
		jw_key(&w, "content");
		jw_stringn(&w, content, clen);
		buf_release(&p);
		r = api_path(&path, "/v1/memory_stores/%s/memories", st->id);
	}
	jw_object_end(&w);
	if (r == 0)
		r = jw_finish(&w);
	if (r == 0)
		r = request(m, "POST", path.data, body.data, body.len, upload_done);
	buf_release(&data);
	buf_release(&body);
	buf_release(&path);
	if (r < 0) {
		memory_log(m, LOG_LEVEL_WARNING, "failed to upload memory '%s': %s", m->up_rel,
			   strerror(-r));
		upload_finish(m, NULL);
	}
}

static void
upload(struct memory *m, const char *rel, const char *local, const struct memory_entry *existing,
       const char *fallback)
{
	m->up_rel = strdup(rel);
	m->up_has_local = local != NULL;
	snprintf(m->up_local, sizeof(m->up_local), "%s", local ? local : "");
	m->up_existing_id = existing && existing->id ? strdup(existing->id) : NULL;
	snprintf(m->up_existing_sha, sizeof(m->up_existing_sha), "%s",
		 existing ? existing->sha : "");
	snprintf(m->up_fallback_buf, sizeof(m->up_fallback_buf), "%s", fallback ? fallback : "");
	m->up_fallback = fallback ? m->up_fallback_buf : NULL;
	if (!m->up_rel) {
		memory_log(m, LOG_LEVEL_ERR, "out of memory");
		m->pi++;
		memory_defer(m);
		return;
	}
	upload_start(m, 0);
}

static void
delete_done(void *userdata, const struct api_result *res)
{
	struct memory *m = userdata;
	struct store *st = &m->stores[m->si];
	const char *rel = m->del_rel;

	m->call = NULL;
	if ((res->status >= 200 && res->status < 300) || res->status == 404) {
		if (res->status != 404)
			memory_log(m, LOG_LEVEL_INFO,
				   "propagated local deletion of '%s' (memory_store_id=%s)", rel,
				   st->id);
		memory_map_del(&st->pending, rel);
	} else {
		if (res->status == 409 || res->status == 412)
			memory_log(
				m, LOG_LEVEL_WARNING,
				"memory deleted locally but changed remotely; keeping the remote "
				"version "
				"(path '%s', memory_store_id=%s)",
				rel, st->id);
		else
			memory_log(m, LOG_LEVEL_WARNING,
				   "failed to delete memory '%s' (memory_store_id=%s): %s", rel,
				   st->id, res_error(res));
		path_result(m, rel, m->del_base);
	}
	free(m->del_rel);
	m->del_rel = NULL;
	m->pi++;
	memory_defer(m);
}

/* #corroboratedDelete: 1 when a request went out (continue in its
 * callback), else 0 with the path's baseline recorded. */
static int
corroborated_delete(struct memory *m, struct store *st, const char *rel,
		    const struct memory_entry *remote, const char *base)
{
	struct memory_entry *pend = memory_map_find(&st->pending, rel);
	uint64_t now = loop_now_ms();
	char want[65];
	char got[65];
	struct buf path = BUF_INIT(8192);
	int marker_ok;
	int still_absent;
	int r;

	if (!pend) {
		pend = memory_map_set(&st->pending, rel, NULL);
		if (pend)
			pend->t = now;
	}
	if (!m->final && pend && now - pend->t < (uint64_t)MEMORY_DELETE_CORROBORATION_MS) {
		path_result(m, rel, base);
		return 0;
	}
	/* Re-check: the folder may have been wiped mid-sync. */
	marker_sha(st, want);
	marker_ok = memory_files_hash(st->root, MEMORY_MARKER, got) == 0 && strcmp(got, want) == 0;
	still_absent = memory_files_hash(st->root, rel, got) == -ENOENT;
	if (!marker_ok) {
		path_result(m, rel, base);
		return 0;
	}
	if (!still_absent) {
		memory_map_del(&st->pending, rel);
		path_result(m, rel, base);
		return 0;
	}
	if (m->del_attempted >= m->del_cap) {
		m->del_capped++;
		path_result(m, rel, base);
		return 0;
	}
	m->del_attempted++;
	m->del_rel = strdup(rel);
	snprintf(m->del_base, sizeof(m->del_base), "%s", base);
	r = m->del_rel
		    ? api_path(&path, "/v1/memory_stores/%s/memories/%s?expected_content_sha256=%s",
			       st->id, remote->id, base)
		    : -ENOMEM;
	if (r == 0)
		r = request(m, "DELETE", path.data, NULL, 0, delete_done);
	buf_release(&path);
	if (r < 0) {
		free(m->del_rel);
		m->del_rel = NULL;
		path_result(m, rel, base);
		return 0;
	}
	return 1;
}

/* #removeLocal: NULL when the file is gone, `expect` to keep it in the
 * baseline, else the file's fresh sha (in `fresh`). */
static const char *
remove_local(struct memory *m, struct store *st, const char *rel, const char *expect,
	     char fresh[65])
{
	int r = memory_files_hash(st->root, rel, fresh);

	if (r == -ENOENT)
		return NULL;
	if (r < 0)
		return expect;
	if (strcmp(fresh, expect) != 0)
		return fresh;
	r = memory_files_remove(st->root, rel);
	if (r < 0 && r != -ENOENT) {
		memory_log(m, LOG_LEVEL_WARNING,
			   "failed to remove memory '%s' deleted remotely: %s", rel, strerror(-r));
		return expect;
	}
	return NULL;
}

static void
log_conflict(struct memory *m, const struct store *st, const char *rel,
	     enum memory_conflict conflict)
{
	switch (conflict) {
	case MEMORY_NO_CONFLICT:
		break;
	case MEMORY_BOTH_CHANGED:
		memory_log(m, LOG_LEVEL_WARNING,
			   "memory changed both locally and remotely; keeping the remote version "
			   "(path '%s', memory_store_id=%s)",
			   rel, st->id);
		break;
	case MEMORY_DELETED_LOCALLY_CHANGED:
		memory_log(
			m, LOG_LEVEL_WARNING,
			"memory deleted locally but changed remotely; restoring the remote version "
			"(path '%s', memory_store_id=%s)",
			rel, st->id);
		break;
	case MEMORY_DELETED_REMOTELY_EDITED:
		memory_log(
			m, LOG_LEVEL_INFO,
			"memory deleted remotely but edited locally; re-creating it from the file "
			"(path '%s', memory_store_id=%s)",
			rel, st->id);
		break;
	case MEMORY_DELETED_REMOTELY_READ_ONLY:
		memory_log(m, LOG_LEVEL_WARNING,
			   "memory deleted remotely but edited locally; keeping the file, which a "
			   "read-only store cannot push (path '%s', memory_store_id=%s)",
			   rel, st->id);
		break;
	}
}

static void
add_pull(struct memory *m, const char *rel, const struct memory_entry *remote)
{
	struct memory_entry *p = memory_map_set(&m->pulls, rel, NULL);

	if (p && !p->id)
		p->id = strdup(remote->id);
	if (!p || !p->id)
		memory_log(m, LOG_LEVEL_ERR, "out of memory");
}

/* One path of a sync, as memory_merge_sync decides it: 1 when a request
 * went out, else 0. */
static int
sync_path(struct memory *m, struct store *st, const char *rel)
{
	const struct memory_entry *remote = memory_map_find(&m->remote, rel);
	struct memory_merge in = {
		.local = memory_map_sha(&m->local, rel),
		.remote = remote ? remote->sha : NULL,
		.base = memory_map_sha(&st->baseline, rel),
		.refused = memory_map_sha(&st->refused, rel),
		.read_only = st->read_only,
		.restore = memory_map_find(&st->restore, rel) != NULL,
	};
	struct memory_decision d = memory_merge_sync(&in);
	char fresh[65];

	if (d.action == MEMORY_DELETE_LOCAL) {
		/* Removed only if unchanged since hashed; a fresh edit is
		 * decided again. */
		in.local = remove_local(m, st, rel, in.base, fresh);
		if (!in.local || in.local == in.base) {
			memory_map_del(&st->pending, rel);
			path_result(m, rel, in.local);
			return 0;
		}
		d = memory_merge_sync(&in);
	}
	if (d.settled)
		memory_map_del(&st->pending, rel);
	log_conflict(m, st, rel, d.conflict);
	switch (d.action) {
	case MEMORY_DELETE_REMOTE:
		return corroborated_delete(m, st, rel, remote, in.base);
	case MEMORY_PUSH:
		upload(m, rel, in.local, remote, d.baseline);
		return 1;
	case MEMORY_PULL:
		add_pull(m, rel, remote);
		break;
	case MEMORY_KEEP:
	case MEMORY_FORGET:
	case MEMORY_DELETE_LOCAL:
		break;
	}
	path_result(m, rel, d.baseline);
	return 0;
}

/* ---- pulls ----------------------------------------------------------------- */

static void
pull_done(void *userdata, const struct api_result *res)
{
	struct memory *m = userdata;
	struct store *st = &m->stores[m->si];
	const char *rel = m->pulls.v[m->pull_i].rel;

	m->call = NULL;
	if (res->status == 200 && res->doc && json_kind(res->doc, 0) == JSON_OBJECT) {
		const char *content = json_get_str(res->doc, 0, "content");
		const char *sha = json_get_str(res->doc, 0, "content_sha256");
		int r = memory_files_put(st->root, rel, content ? content : "",
					 content ? strlen(content) : 0);

		memory_map_del(&st->restore, rel);

		if (r < 0)
			memory_log(m, LOG_LEVEL_WARNING,
				   "failed to write memory '%s' (memory_store_id=%s): %s", rel,
				   st->id, strerror(-r));
		else if (sha)
			memory_map_set(&st->baseline, rel, sha);
	} else if (res->status != 404) {
		memory_log(m, LOG_LEVEL_WARNING,
			   "failed to fetch memory content '%s' (memory_store_id=%s): %s", rel,
			   st->id, res_error(res));
	}
	m->pull_i++;
	pull_next(m);
}

static void
pull_next(struct memory *m)
{
	struct store *st = &m->stores[m->si];
	struct buf path = BUF_INIT(8192);
	int r;

	while (m->pull_i < m->pulls.n && !m->pulls.v[m->pull_i].id)
		m->pull_i++;
	if (m->pull_i >= m->pulls.n) {
		memory_store_done(m);
		return;
	}
	r = api_path(&path, "/v1/memory_stores/%s/memories/%s?view=full", st->id,
		     m->pulls.v[m->pull_i].id);
	if (r == 0)
		r = request(m, "GET", path.data, NULL, 0, pull_done);
	buf_release(&path);
	if (r < 0) {
		m->pull_i++;
		memory_defer(m);
	}
}

/* ---- one store's sync and flush ------------------------------------------- */

static void
list_start(struct memory *m, const char *view)
{
	m->stage = ST_LISTING;
	m->list_view = view;
	list_page(m);
}

/* #stampAndPull: the marker, then a full listing written as it comes. */
int
memory_stamp_and_list(struct memory *m, struct store *st)
{
	struct buf text = BUF_INIT(4096);
	int r;

	memory_map_clear(&st->baseline);
	memory_map_clear(&st->sent);
	memory_map_clear(&st->pending);
	memory_map_clear(&st->restore);
	marker_text(st, &text);
	r = memory_files_put(st->root, MEMORY_MARKER, text.data ? text.data : "", text.len);
	buf_release(&text);
	if (r < 0)
		return r;
	list_start(m, "full");
	return 0;
}

/* #recover: rebuild a destroyed folder from the server; no deletes, no
 * uploads. */
static void
recover(struct memory *m, struct store *st, const char *reason)
{
	int r;

	memory_log(m, LOG_LEVEL_WARNING,
		   "%s; re-downloading the memory store folder instead of syncing (root '%s', "
		   "memory_store_id=%s)",
		   reason, st->root, st->id);
	memory_pass_reset(m);
	m->pass = PASS_RECOVER;
	r = fsutil_mkdir_p(st->root, 0700);
	if (r == 0)
		r = memory_stamp_and_list(m, st);
	if (r < 0) {
		memory_log(m, LOG_LEVEL_WARNING, "memory sync failed for memory_store_id=%s: %s",
			   st->id, strerror(-r));
		memory_store_done(m);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* #settleSent: an upload whose answer never came is this sync's own if
 * the server holds exactly the sha sent. */
static void
settle_sent(struct store *st, const struct memory_map *remote)
{
	for (size_t i = 0; i < st->sent.n; i++) {
		const struct memory_entry *r = memory_map_find(remote, st->sent.v[i].rel);

		if (r && strcmp(r->sha, st->sent.v[i].sha) == 0)
			memory_map_set(&st->baseline, st->sent.v[i].rel, r->sha);
	}
	memory_map_clear(&st->sent);
}

/* #flushStore for one dirty file (kept in m->local), as memory_merge_flush
 * decides it: 1 when a request went out, else 0. */
static int
flush_path(struct memory *m, struct store *st, const char *rel)
{
	const struct memory_entry *existing = memory_map_find(&m->remote, rel);
	struct memory_merge in = {
		.local = memory_map_sha(&m->local, rel),
		.remote = existing ? existing->sha : NULL,
		.base = memory_map_sha(&st->baseline, rel),
	};
	struct memory_decision d = memory_merge_flush(&in);

	if (d.conflict == MEMORY_BOTH_CHANGED)
		memory_log(m, LOG_LEVEL_WARNING,
			   "memory changed both locally and remotely; the flush leaves the remote "
			   "version (path '%s', memory_store_id=%s)",
			   rel, st->id);
	if (d.action == MEMORY_PUSH) {
		upload(m, rel, in.local, existing, NULL);
		return 1;
	}
	if (d.baseline && !memory_map_set(&st->baseline, rel, d.baseline))
		memory_log(m, LOG_LEVEL_ERR, "out of memory");
	return 0;
}

/* Decide the paths, PATHS_SLICE between two turns of the loop; a request
 * continues from its callback. */
static void
paths_run(struct memory *m)
{
	struct store *st = &m->stores[m->si];

	m->stage = ST_PATHS;
	for (int n = 0; m->pi < m->paths.n; n++) {
		int sent;

		if (n == PATHS_SLICE) {
			memory_defer(m);
			return;
		}
		sent = m->pass == PASS_FLUSH ? flush_path(m, st, m->paths.v[m->pi])
					     : sync_path(m, st, m->paths.v[m->pi]);
		if (sent)
			return;
		m->pi++;
	}
	if (m->pass == PASS_FLUSH) {
		memory_store_done(m);
		return;
	}
	memory_map_take(&st->baseline, &m->next_base);
	if (m->del_capped > 0)
		memory_log(m, LOG_LEVEL_WARNING,
			   "delete cap reached: sent %d deletes, held %d for later syncs "
			   "(memory_store_id=%s)",
			   m->del_attempted, m->del_capped, st->id);
	/* The content pass: everything above moved only shas. */
	m->stage = ST_PULLS;
	m->pull_i = 0;
	pull_next(m);
}

/* A listing ended (every page read). */
static void
listed(struct memory *m)
{
	struct store *st = &m->stores[m->si];
	int cap;

	switch (m->pass) {
	case PASS_DOWNLOAD:
		memory_log(m, LOG_LEVEL_INFO,
			   "downloaded %zu memories into '%s' (memory_store_id=%s)", st->baseline.n,
			   st->root, st->id);
		memory_pass_reset(m);
		m->stage = ST_RESOURCES;
		memory_defer(m);
		return;
	case PASS_RECOVER:
		memory_store_done(m);
		return;
	case PASS_FLUSH:
		settle_sent(st, &m->remote);
		m->pi = 0;
		paths_run(m);
		return;
	case PASS_SYNC:
		break;
	}
	settle_sent(st, &m->remote);
	/* A lone file vanishing is a deletion; two or more with nothing left
	 * is a wiped folder (counted after settling). */
	if (m->local.n == 0 && st->baseline.n > 1) {
		recover(m, st, "every memory file is gone at once");
		return;
	}
	cap = (int)(st->baseline.n / 4);
	m->del_cap = cap < DELETE_CAP_FLOOR	? DELETE_CAP_FLOOR
		     : cap > DELETE_CAP_CEILING ? DELETE_CAP_CEILING
						: cap;
	/* Every path any side knows, once each, in order. */
	for (size_t i = 0; i < m->remote.n; i++)
		strv_push(&m->paths, m->remote.v[i].rel);
	for (size_t i = 0; i < m->local.n; i++) {
		if (!memory_map_find(&m->remote, m->local.v[i].rel))
			strv_push(&m->paths, m->local.v[i].rel);
	}
	for (size_t i = 0; i < st->baseline.n; i++) {
		const char *rel = st->baseline.v[i].rel;

		if (!memory_map_find(&m->remote, rel) && !memory_map_find(&m->local, rel))
			strv_push(&m->paths, rel);
	}
	if (m->paths.n > 1)
		qsort(m->paths.v, m->paths.n, sizeof(char *), cmp_str);
	m->pi = 0;
	paths_run(m);
}

void
memory_store_begin(struct memory *m)
{
	struct store *st = &m->stores[m->si];

	if (m->restoring) {
		/* What a stopped call left missing is known first. */
		m->stage = ST_AWAIT_RESTORE;
		return;
	}
	memory_pass_reset(m);
	m->pass = m->op == OP_FLUSH ? PASS_FLUSH : PASS_SYNC;
	if (m->pass == PASS_FLUSH && st->read_only) {
		memory_store_done(m);
		return;
	}
	scan_start(m);
}

/* The folder was walked: check its marker, then list the store. */
static void
scanned(struct memory *m)
{
	struct store *st = &m->stores[m->si];
	int r = scan_finish(m, st);

	m->stage = ST_NONE;
	if (r < 0) {
		memory_log(m, LOG_LEVEL_WARNING, "memory %s failed for memory_store_id=%s: %s",
			   m->pass == PASS_FLUSH ? "flush" : "sync", st->id, strerror(-r));
		memory_store_done(m);
		return;
	}
	if (!m->marker_ok) {
		if (m->pass == PASS_FLUSH) {
			memory_log(m, LOG_LEVEL_WARNING,
				   "%s; not uploading anything from the memory store folder (root "
				   "'%s', "
				   "memory_store_id=%s)",
				   m->distrust, st->root, st->id);
			memory_store_done(m);
		} else if (m->local.n > 0) {
			memory_log(m, LOG_LEVEL_WARNING,
				   "%s; leaving the memory store folder as found and not syncing "
				   "(root "
				   "'%s', "
				   "memory_store_id=%s)",
				   m->distrust, st->root, st->id);
			memory_store_done(m);
		} else {
			recover(m, st, "the folder or its marker is gone");
		}
		return;
	}
	if (m->pass == PASS_FLUSH) {
		/* Only the changed files, and those with an unsettled send. */
		struct memory_map dirty = { 0 };

		for (size_t i = 0; i < m->local.n; i++) {
			const struct memory_entry *e = &m->local.v[i];
			int changed = !str_eq(e->sha, memory_map_sha(&st->baseline, e->rel)) ||
				      memory_map_find(&st->sent, e->rel);

			if (changed && !str_eq(memory_map_sha(&st->refused, e->rel), e->sha)) {
				memory_map_set(&dirty, e->rel, e->sha);
				strv_push(&m->paths, e->rel);
			}
		}
		memory_map_take(&m->local, &dirty);
		if (m->paths.n == 0) {
			memory_store_done(m);
			return;
		}
		if (m->paths.n > 1)
			qsort(m->paths.v, m->paths.n, sizeof(char *), cmp_str);
	}
	list_start(m, "basic");
}

/* ---- driving a pass ---------------------------------------------------------- */

void
memory_step(void *userdata)
{
	struct memory *m = userdata;

	m->timer = NULL;
	if (m->call)
		return;
	switch (m->stage) {
	case ST_SCANNING:
		scan_slice(m);
		break;
	case ST_AWAIT_RESTORE:
		memory_store_begin(m);
		break;
	case ST_PATHS:
		paths_run(m);
		break;
	case ST_PULLS:
		pull_next(m);
		break;
	case ST_RESOURCES:
		memory_download_next(m);
		break;
	default:
		break;
	}
}
