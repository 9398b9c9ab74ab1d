export { createLogger, type Logger } from './logger.js';
export { createMetricsRegistry, Counter, Gauge, Histogram, Registry } from './metrics.js';
export { startOpsServer, type OpsServer, type OpsServerOptions, type ReadinessCheck } from './http-server.js';
export { handleShutdown, type ShutdownOptions } from './shutdown.js';
export { quantile } from './quantile.js';
