import { Counter, Gauge, Histogram, type Registry } from '@loomwatch/observability';

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16];

/** The dashboard's Prometheus metrics. */
export class DashboardMetrics {
  readonly requests: Counter<'route' | 'status'>;
  readonly requestSeconds: Histogram<'route'>;
  readonly records: Counter<'topic'>;
  readonly skipped: Counter<'topic' | 'code'>;
  readonly clients: Gauge;
  readonly clientsDropped: Counter;
  readonly lag: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'loomwatch_dashboard_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['route', 'status'], registers });
    this.requestSeconds = new Histogram({ name: 'loomwatch_dashboard_request_seconds', help: 'Time from request to answer, by route', labelNames: ['route'], buckets: SECONDS_BUCKETS, registers });
    this.records = new Counter({ name: 'loomwatch_dashboard_records_total', help: 'Records read from the followed topics, by topic', labelNames: ['topic'], registers });
    this.skipped = new Counter({ name: 'loomwatch_dashboard_records_skipped_total', help: 'Records that did not decode, by topic and error code', labelNames: ['topic', 'code'], registers });
    this.clients = new Gauge({ name: 'loomwatch_dashboard_event_streams', help: 'Browsers streaming /api/events', registers });
    this.clientsDropped = new Counter({ name: 'loomwatch_dashboard_event_streams_dropped_total', help: 'Event streams dropped because the browser did not keep up', registers });
    this.lag = new Gauge({ name: 'loomwatch_dashboard_worker_lag', help: 'Frames the workers group has not committed yet, as last measured', registers });
  }
}
