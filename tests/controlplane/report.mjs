// What the control plane observed, for tests to assert on: requests per
// route / status / worker / HTTP version, the most of a route's requests
// open at once, protocol mistakes a client made, faults fired.
import { nowIso } from './http.mjs';

const LOG_LIMIT = 5000;

export class Report {
  constructor() {
    this.byRoute = {};
    this.byRouteStatus = {};
    this.byWorker = {};
    this.byHttpVersion = {};
    this.open = {};
    this.mostOpen = {};
    this.log = [];
    this.mistakes = [];
    this.mistakeCounts = {};
    this.faultsFired = [];
  }

  /** A request arrived: it is open until request() counts it finished. */
  opened(route) {
    this.open[route] = (this.open[route] ?? 0) + 1;
    this.mostOpen[route] = Math.max(this.mostOpen[route] ?? 0, this.open[route]);
  }

  /** One finished request. `worker` is the poll's worker id or the worker a token was handed to. */
  request({ route, method, path, status, worker, retryCount, version, startedMs, credential, http }) {
    this.byRoute[route] = (this.byRoute[route] ?? 0) + 1;
    this.open[route]--;
    this.byHttpVersion[http] = (this.byHttpVersion[http] ?? 0) + 1;
    const rs = `${route} ${status}`;
    this.byRouteStatus[rs] = (this.byRouteStatus[rs] ?? 0) + 1;
    if (worker) {
      const w = (this.byWorker[worker] ??= {});
      w[route] = (w[route] ?? 0) + 1;
    }
    this.log.push({
      at: nowIso(startedMs),
      ms: Date.now() - startedMs,
      route,
      method,
      path,
      status,
      worker: worker ?? null,
      credential,
      retry_count: retryCount,
      version,
      http,
    });
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
  }

  mistake(kind, route, detail) {
    this.mistakes.push({ at: nowIso(), kind, route, detail });
    this.mistakeCounts[kind] = (this.mistakeCounts[kind] ?? 0) + 1;
  }

  fault(kind, route, detail) {
    this.faultsFired.push({ at: nowIso(), kind, route, detail });
  }

  toJSON() {
    return {
      requests: {
        by_route: this.byRoute,
        by_route_status: this.byRouteStatus,
        by_worker: this.byWorker,
        by_http_version: this.byHttpVersion,
        most_open: this.mostOpen,
        log: this.log,
      },
      mistakes: this.mistakes,
      mistake_counts: this.mistakeCounts,
      faults_fired: this.faultsFired,
    };
  }
}
