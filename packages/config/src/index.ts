export { loadConfig, collectConfig, type LoadConfigOptions } from './load.js';
export { redactSecrets, redactUrl } from './redact.js';
export { commaList, KafkaConfig, LogConfig, S3Config, STANDARD_ENV_ALIASES, opsConfig } from './schemas.js';
export {
  addExamples,
  chooseSubcommand,
  collect,
  commandName,
  exitWithRuntimeError,
  exitWithUsageError,
  newCommand,
  parseCommand,
  parseOrExit,
  parseServiceArgs,
  serviceCommand,
  type CommandSpec,
  type FailureLog,
  type ServiceArgs,
  type ServiceCommand,
} from './command-line.js';
export type { Command } from 'commander';
