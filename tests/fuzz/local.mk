# libFuzzer targets, built by "make check" only with ./configure --enable-fuzzing
# (clang).  They compile their own instrumented copies of the modules.
if ENABLE_FUZZING
check_PROGRAMS += tests/fuzz/fuzz_json tests/fuzz/fuzz_sse
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c core/json.c core/jsonw.c core/buf.c
tests_fuzz_fuzz_json_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_json_LDFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_sse_SOURCES = tests/fuzz/fuzz_sse.c core/sse.c core/buf.c
tests_fuzz_fuzz_sse_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_sse_LDFLAGS = $(FUZZ_CFLAGS)
endif
EXTRA_DIST += tests/fuzz/corpus/json/event.json tests/fuzz/corpus/json/nested.json \
	tests/fuzz/corpus/sse/stream.txt
