export { loadConfig, collectConfig, type LoadConfigOptions } from './load.js';
export { redactSecrets, redactUrl } from './redact.js';
export { commaList, KafkaConfig, LogConfig, S3Config, STANDARD_ENV_ALIASES, opsConfig } from './schemas.js';
export { argumentProblem, exitWithUsageError, parseServiceArgs, usageOf, type ServiceArgs, type ServiceCommand } from './command-line.js';
