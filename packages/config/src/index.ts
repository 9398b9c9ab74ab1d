export { loadConfig, collectConfig, type LoadConfigOptions } from './load.js';
export { redactSecrets, redactUrl, REDACTED } from './redact.js';
export { commaList, KafkaConfig, S3Config, STANDARD_ENV_ALIASES } from './schemas.js';
