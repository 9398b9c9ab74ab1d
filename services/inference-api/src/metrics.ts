import { Counter, Gauge, Histogram, type Registry } from '@loomwatch/observability';

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];

/** The API's Prometheus metrics. */
export class ApiMetrics {
  readonly requests: Counter<'route' | 'status'>;
  readonly requestSeconds: Histogram<'route'>;
  readonly inferSeconds: Histogram;
  readonly rejected: Counter;
  readonly inFlight: Gauge;
  readonly queued: Gauge;
  readonly results: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'loomwatch_api_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['route', 'status'], registers });
    this.requestSeconds = new Histogram({ name: 'loomwatch_api_request_seconds', help: 'Time from request to answer, by route', labelNames: ['route'], buckets: SECONDS_BUCKETS, registers });
    this.inferSeconds = new Histogram({ name: 'loomwatch_api_decide_seconds', help: 'Decoding, inference and rendering of one image', buckets: SECONDS_BUCKETS, registers });
    this.rejected = new Counter({ name: 'loomwatch_api_saturated_total', help: 'Inference requests refused with 429 (in-flight and queue full)', registers });
    this.inFlight = new Gauge({ name: 'loomwatch_api_in_flight', help: 'Images being decided', registers });
    this.queued = new Gauge({ name: 'loomwatch_api_queued', help: 'Inference requests waiting for a slot', registers });
    this.results = new Gauge({ name: 'loomwatch_api_results_cached', help: 'Results kept for GET /v1/results', registers });
  }
}
