export { createLogger, type Logger } from './logger.js';
export { createMetricsRegistry, Counter, Gauge, Histogram, Registry } from './metrics.js';
export { readImageBody } from './http-body.js';
export { startOpsServer, type OpsServer, type OpsServerOptions, type ReadinessCheck } from './http-server.js';
export { handleShutdown, type ShutdownOptions } from './shutdown.js';
export { HttpProblem, problemType, toProblem, type Problem, type ProblemMapping } from './problem.js';
