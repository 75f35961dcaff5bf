# cmocka unit tests, one binary per core module, run by automake's default
# driver (exit 0 pass, 77 skip, 99 error).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_buf
tests_unit_test_buf_SOURCES = tests/unit/test_buf.c
tests_unit_test_buf_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_buf_LDADD = $(UNIT_LINK_LIBS)

TESTS += tests/unit/test_buf

check_PROGRAMS += tests/unit/test_nbio
tests_unit_test_nbio_SOURCES = tests/unit/test_nbio.c
tests_unit_test_nbio_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_nbio_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_nbio

check_PROGRAMS += tests/unit/test_rand
tests_unit_test_rand_SOURCES = tests/unit/test_rand.c
tests_unit_test_rand_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_rand_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_rand

check_PROGRAMS += tests/unit/test_secret
tests_unit_test_secret_SOURCES = tests/unit/test_secret.c
tests_unit_test_secret_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_secret_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_secret

check_PROGRAMS += tests/unit/test_onwork
tests_unit_test_onwork_SOURCES = tests/unit/test_onwork.c
tests_unit_test_onwork_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_onwork_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_onwork

check_PROGRAMS += tests/unit/test_loop tests/unit/test_process
tests_unit_test_loop_SOURCES = tests/unit/test_loop.c tests/lib/loopback-server.c \
	tests/lib/loopback-server.h
tests_unit_test_loop_CFLAGS = $(UNIT_COMPILE_FLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_loop_LDADD = $(UNIT_LINK_LIBS)
tests_unit_test_process_SOURCES = tests/unit/test_process.c
tests_unit_test_process_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_process_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_loop tests/unit/test_process

check_PROGRAMS += tests/unit/test_offload
tests_unit_test_offload_SOURCES = tests/unit/test_offload.c
tests_unit_test_offload_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_offload_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_offload

check_PROGRAMS += tests/unit/test_journal
tests_unit_test_journal_SOURCES = tests/unit/test_journal.c
tests_unit_test_journal_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_journal_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_journal

check_PROGRAMS += tests/unit/test_sessiondir
tests_unit_test_sessiondir_SOURCES = tests/unit/test_sessiondir.c
tests_unit_test_sessiondir_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_sessiondir_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_sessiondir

check_PROGRAMS += tests/unit/test_api
tests_unit_test_api_SOURCES = tests/unit/test_api.c tests/lib/loopback-server.c \
	tests/lib/loopback-server.h
tests_unit_test_api_CFLAGS = $(UNIT_COMPILE_FLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_api_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_api

check_PROGRAMS += tests/unit/test_json
tests_unit_test_json_SOURCES = tests/unit/test_json.c
tests_unit_test_json_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_json_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_json

check_PROGRAMS += tests/unit/test_sse
tests_unit_test_sse_SOURCES = tests/unit/test_sse.c
tests_unit_test_sse_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_sse_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_sse

check_PROGRAMS += tests/unit/test_siphash
tests_unit_test_siphash_SOURCES = tests/unit/test_siphash.c
tests_unit_test_siphash_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_siphash_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_siphash

check_PROGRAMS += tests/unit/test_base64
tests_unit_test_base64_SOURCES = tests/unit/test_base64.c
tests_unit_test_base64_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_base64_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_base64

check_PROGRAMS += tests/unit/test_jsonw
tests_unit_test_jsonw_SOURCES = tests/unit/test_jsonw.c
tests_unit_test_jsonw_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_jsonw_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_jsonw
endif

# Logging, config file, command line and settings, plugin loader.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_log tests/unit/test_conffile tests/unit/test_cmdline \
	tests/unit/test_loader tests/unit/test_host
tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_log_LDADD = $(UNIT_LINK_LIBS)
tests_unit_test_conffile_SOURCES = tests/unit/test_conffile.c
tests_unit_test_conffile_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_conffile_LDADD = $(UNIT_LINK_LIBS)
tests_unit_test_cmdline_SOURCES = tests/unit/test_cmdline.c
tests_unit_test_cmdline_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_cmdline_LDADD = $(UNIT_LINK_LIBS)
tests_unit_test_loader_SOURCES = tests/unit/test_loader.c
tests_unit_test_loader_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_loader_LDADD = $(UNIT_LINK_LIBS)
tests_unit_test_host_SOURCES = tests/unit/test_host.c
tests_unit_test_host_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_host_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_log tests/unit/test_conffile tests/unit/test_cmdline \
	tests/unit/test_loader tests/unit/test_host

# The sandbox's file-system identity.
check_PROGRAMS += tests/unit/test_fsid
tests_unit_test_fsid_SOURCES = tests/unit/test_fsid.c
tests_unit_test_fsid_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_fsid_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_fsid

# Readiness, the status listener's decision.
check_PROGRAMS += tests/unit/test_session_view
tests_unit_test_session_view_SOURCES = tests/unit/test_session_view.c
tests_unit_test_session_view_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_session_view_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_session_view

check_PROGRAMS += tests/unit/test_status
tests_unit_test_status_SOURCES = tests/unit/test_status.c
tests_unit_test_status_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_status_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_status

# The open-file budget.
check_PROGRAMS += tests/unit/test_descriptors
tests_unit_test_descriptors_SOURCES = tests/unit/test_descriptors.c
tests_unit_test_descriptors_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_descriptors_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_descriptors

# The key-file policy.
check_PROGRAMS += tests/unit/test_keyfile
tests_unit_test_keyfile_SOURCES = tests/unit/test_keyfile.c
tests_unit_test_keyfile_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_keyfile_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_keyfile

# sample-config/runner.conf against the table of settings.
check_PROGRAMS += tests/unit/test_sample_config
tests_unit_test_sample_config_SOURCES = tests/unit/test_sample_config.c
tests_unit_test_sample_config_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_sample_config_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_sample_config
endif

# Skill archive checks and SHA-256 (skills and memory stores); the memory
# stores' per-path merge, map and file store.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_archive
tests_unit_test_archive_SOURCES = tests/unit/test_archive.c
tests_unit_test_archive_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_archive_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_archive

check_PROGRAMS += tests/unit/test_memory_merge
tests_unit_test_memory_merge_SOURCES = tests/unit/test_memory_merge.c
tests_unit_test_memory_merge_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_memory_merge_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_memory_merge

check_PROGRAMS += tests/unit/test_memory_store
tests_unit_test_memory_store_SOURCES = tests/unit/test_memory_store.c
tests_unit_test_memory_store_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_memory_store_LDADD = $(UNIT_LINK_LIBS)
TESTS += tests/unit/test_memory_store

if LINUX_SANDBOXES
check_PROGRAMS += tests/unit/test_proxy_address
tests_unit_test_proxy_address_SOURCES = tests/unit/test_proxy_address.c \
	plugins/sandbox-bubblewrap/address.c
tests_unit_test_proxy_address_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins
tests_unit_test_proxy_address_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_proxy_address_LDADD = $(CMOCKA_LIBS)
TESTS += tests/unit/test_proxy_address
endif
endif
