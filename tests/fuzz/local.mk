# libFuzzer targets, built by "make check" only with ./configure --enable-fuzzing
# (clang).  They compile their own instrumented copies of the modules.  Each
# has a seed corpus in tests/fuzz/corpus/<name>; "make fuzz" runs every target
# for FUZZ_SECONDS (default 60) on a scratch copy of its corpus and fails on
# the first crash, leak or timeout.
FUZZ_TARGETS = json sse secret http_header conffile toolset
if ENABLE_FUZZING
check_PROGRAMS += tests/fuzz/fuzz_json tests/fuzz/fuzz_sse tests/fuzz/fuzz_secret \
	tests/fuzz/fuzz_http_header tests/fuzz/fuzz_conffile tests/fuzz/fuzz_toolset
FUZZ_COMMON = common/json.c common/buf.c common/nbio.c common/secret.c common/wipe.c \
	common/base64.c common/http-header.c common/rand.c
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c common/jsonw.c $(FUZZ_COMMON)
tests_fuzz_fuzz_json_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_json_LDFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_sse_SOURCES = tests/fuzz/fuzz_sse.c common/sse.c common/buf.c
tests_fuzz_fuzz_sse_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_sse_LDFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_secret_SOURCES = tests/fuzz/fuzz_secret.c $(FUZZ_COMMON)
tests_fuzz_fuzz_secret_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_secret_LDFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_http_header_SOURCES = tests/fuzz/fuzz_http_header.c common/http-header.c
tests_fuzz_fuzz_http_header_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_http_header_LDFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_conffile_SOURCES = tests/fuzz/fuzz_conffile.c core/conffile.c core/settings.c \
	core/keyfile.c core/log.c $(FUZZ_COMMON)
tests_fuzz_fuzz_conffile_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_conffile_LDFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_toolset_SOURCES = tests/fuzz/fuzz_toolset.c $(FUZZ_COMMON) \
	plugins/executor-toolset/util.c plugins/executor-toolset/confine.c \
	plugins/executor-toolset/fs-errors.c plugins/executor-toolset/tool-read.c \
	plugins/executor-toolset/tool-write.c plugins/executor-toolset/tool-edit.c \
	plugins/executor-toolset/glob-match.c plugins/executor-toolset/tool-glob.c \
	plugins/executor-toolset/tool-grep.c plugins/executor-toolset/tool-bash.c
tests_fuzz_fuzz_toolset_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/executor-toolset
tests_fuzz_fuzz_toolset_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_toolset_LDFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_toolset_LDADD = -lm
endif

# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="json sse"]
FUZZ_SECONDS = 60
if ENABLE_FUZZING
fuzz:
	@set -e; t=; for n in $(FUZZ_TARGETS); do t="$$t tests/fuzz/fuzz_$$n"; done; \
	$(MAKE) $(AM_MAKEFLAGS) $$t
	@$(SHELL) $(top_srcdir)/tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)
else
fuzz:
	@echo "make fuzz: configure with CC=clang --enable-fuzzing first" >&2; exit 1
endif
.PHONY: fuzz
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/run.sh tests/fuzz/fuzz_json.c tests/fuzz/fuzz_sse.c \
	tests/fuzz/fuzz_secret.c tests/fuzz/fuzz_http_header.c tests/fuzz/fuzz_conffile.c \
	tests/fuzz/fuzz_toolset.c
