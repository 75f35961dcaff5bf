// Test-only admin routes under /_test (API key required). See README.md.
import { badRequest } from './http.mjs';
import { DEFAULT_SCRIPT, validateScript } from './agent.mjs';

export function adminRoutes(plane) {
  return [
    ['POST', '/_test/environments/{id}/keys', '_test.keys', (ctx) => {
      plane.requireApi(ctx);
      const env = plane.environment(ctx.params.id);
      return { type: 'environment_key', environment_id: env.id, key: plane.creds.issueEnvKey(env.id) };
    }],
    ['POST', '/_test/environments/{id}/healthcheck', '_test.healthcheck', (ctx) => {
      plane.requireApi(ctx);
      const env = plane.environment(ctx.params.id);
      const item = plane.work.enqueue(env.id, null, 'healthcheck');
      return { work_id: item.id };
    }],
    ['POST', '/_test/sessions/{id}/script', '_test.script', async (ctx) => {
      plane.requireApi(ctx);
      const s = plane.session(ctx.params.id);
      s.setScript(validateScript(await ctx.body()));
      return { session_id: s.id, script: s.script };
    }],
    ['POST', '/_test/default-script', '_test.default_script', async (ctx) => {
      plane.requireApi(ctx);
      const body = await ctx.body();
      plane.defaultScript = body === null || body === undefined ? DEFAULT_SCRIPT : validateScript(body);
      return { script: plane.defaultScript };
    }],
    ['GET', '/_test/faults', '_test.faults', (ctx) => {
      plane.requireApi(ctx);
      return plane.faults;
    }],
    ['POST', '/_test/faults', '_test.faults', async (ctx) => {
      plane.requireApi(ctx);
      const body = await ctx.body();
      if (body === null || typeof body !== 'object') throw badRequest('faults: expected a JSON object');
      const { stop_request: stop, ...knobs } = body;
      plane.faults.add(knobs);
      const out = { faults: plane.faults };
      if (stop) {
        if (!stop.work_id && !stop.session_id) throw badRequest('stop_request: work_id or session_id required');
        out.stop_request = plane.work.requestStop(stop);
      }
      return out;
    }],
    ['DELETE', '/_test/faults', '_test.faults', (ctx) => {
      plane.requireApi(ctx);
      plane.faults.clear();
      return { faults: plane.faults };
    }],
    ['GET', '/_test/report', '_test.report', (ctx) => {
      plane.requireApi(ctx);
      const sessions = {};
      for (const s of plane.everySession.values()) {
        // A padded tool use (pad_bytes) shows its pad's length, not megabytes at every report.
        const events = s.events.map((e) => (typeof e.input?.pad === 'string' ? { ...e, input: { ...e.input, pad: `(${e.input.pad.length} bytes)` } } : e));
        sessions[s.id] = { status: s.obj.status, environment_id: s.obj.environment_id, deleted: !!s.deleted, events };
      }
      return { ...plane.report.toJSON(), work: plane.work.reportView(), sessions };
    }],
  ];
}
