/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "settings.h"

void
settings_init(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	s->capacity = 1;
	s->max_idle_sec = 60;
	s->block_ms = 999;
	s->tool_timeout_sec = 120;
	s->drain_wait_sec = 30;
	s->log_level = LOG_LEVEL_INFO;
	s->log_format = LOG_FORMAT_LOGFMT;
}

void
settings_release(struct settings *s)
{
	free(s->organization_id);
	free(s->environment_id);
	free(s->service_key_file);
	free(s->api_url);
	free(s->worker_id);
	free(s->sandbox_backend);
	free(s->executor);
	for (int i = 0; i < s->n_plugin_dirs; i++)
		free(s->plugin_dirs[i]);
	free(s->workdir);
	free(s->base_dir);
	free(s->log_file);
	free(s->config_file);
	memset(s, 0, sizeof(*s));
}
