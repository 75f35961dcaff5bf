# The claude-code executor: one Claude Code CLI process per session, driven
# over stream-json (plugins/executor-claude-code/).
pkglib_LTLIBRARIES += plugins/executor-claude-code.la
plugins_executor_claude_code_la_SOURCES = plugins/executor-claude-code/claude-code.c
plugins_executor_claude_code_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_executor_claude_code_la_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_executor_claude_code_la_LIBADD = libercommon.la
EXTRA_DIST += plugins/executor-claude-code/local.mk

# The real CLI (tests/claude-code) against the control plane's scripted
# Messages API (tests/controlplane/messages.mjs); skips without the CLI.
TESTS += tests/integration/executor-claude-code.sh
EXTRA_DIST += tests/integration/executor-claude-code.sh tests/runner/claude-code.mjs \
	tests/claude-code/package.json tests/claude-code/.npmrc tests/controlplane/messages.mjs
