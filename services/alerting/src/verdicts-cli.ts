/**
 * `verdicts tail`: prints verdicts as JSON lines (see its --help).
 * Prints verdicts as JSON lines on stdout (read_committed); messages that are not valid verdicts
 * are reported on stderr. With --to-end it prints what the topic holds from its beginning and
 * exits at its end. Kafka settings (brokers, SASL, TLS) from the environment as for the services.
 */
import { z } from 'zod';
import { KafkaConfig, STANDARD_ENV_ALIASES, addExamples, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, newCommand, parseOrExit } from '@loomwatch/config';
import { TOPICS, toLoomwatchError } from '@loomwatch/contracts';
import { createKafkaClient } from '@loomwatch/kafka';
import { dumpVerdicts, tailVerdicts } from './verdicts-tail.js';

interface TailOptions {
  line?: string;
  camera?: string;
  topic: string;
  fromBeginning?: boolean;
  toEnd?: boolean;
}

const program = newCommand({
  name: 'pnpm --silent verdicts',
  summary: 'Verdicts as JSON lines on stdout, read_committed; messages that are not valid verdicts are reported on stderr.',
  examples: ['loomwatch verdicts tail --line line-1'],
});
let values: TailOptions | undefined;
const tailCommand = program
  .command('tail')
  .description('Prints verdicts as they are published (Ctrl-C stops), or what the topic holds (--from-beginning --to-end).')
  .option('--line <line>', 'only this line')
  .option('--camera <camera>', 'only this camera')
  .option('--topic <topic>', 'the topic to read', TOPICS.verdicts)
  .option('--from-beginning', 'start at the topic\'s beginning, not its end')
  .option('--to-end', 'stop at the end of what the topic holds (with --from-beginning)')
  .action((options: TailOptions) => {
    values = options;
  });
addExamples(tailCommand, {
  examples: ['loomwatch verdicts tail --line line-1 --camera cam-2', 'loomwatch verdicts tail --from-beginning --to-end > verdicts.jsonl'],
  notes: ['Kafka settings (brokers, SASL, TLS) come from the environment as for the services.'],
});
parseOrExit(program);
if (values === undefined) process.exit(0);
const name = `${commandName('pnpm --silent verdicts')} tail`;
if (values.toEnd === true && values.fromBeginning !== true) exitWithUsageError(name, '--to-end reads from the beginning: add --from-beginning');

let kafka: KafkaConfig;
try {
  kafka = loadConfig(z.strictObject({ kafka: KafkaConfig.prefault({}) }), { envAliases: STANDARD_ENV_ALIASES, envSections: ['kafka'] }).kafka;
} catch (err) {
  exitWithUsageError(name, toLoomwatchError(err).message);
}
const client = createKafkaClient({ ...kafka, clientId: 'loomwatch-verdicts-tail' });
const options = {
  topic: values.topic,
  fromBeginning: values.fromBeginning === true,
  ...(values.line === undefined ? {} : { line: values.line }),
  ...(values.camera === undefined ? {} : { camera: values.camera }),
  write: (line: string) => process.stdout.write(`${line}\n`),
  warn: (line: string) => process.stderr.write(`${line}\n`),
};
try {
  if (values.toEnd === true) {
    await dumpVerdicts(client, options);
    process.exit(0);
  }
  const tail = await tailVerdicts(client, options);
  const stop = (): void => void tail.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  // A broker that is down or refuses us: one line that says what to do, not a stack.
  exitWithRuntimeError(name, err);
}
