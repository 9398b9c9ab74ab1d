/**
 * pnpm --silent verdicts tail [--line L] [--camera C] [--from-beginning [--to-end]] [--topic T]
 * Prints verdicts as JSON lines on stdout (read_committed); messages that are not valid verdicts
 * are reported on stderr. With --to-end it prints what the topic holds from its beginning and
 * exits at its end. Kafka settings (brokers, SASL, TLS) from the environment as for the services.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { KafkaConfig, STANDARD_ENV_ALIASES, argumentProblem, loadConfig } from '@loomwatch/config';
import { TOPICS, toLoomwatchError } from '@loomwatch/contracts';
import { createKafkaClient } from '@loomwatch/kafka';
import { dumpVerdicts, tailVerdicts } from './verdicts-tail.js';

const USAGE = 'usage: verdicts tail [--line L] [--camera C] [--from-beginning [--to-end]] [--topic T]';

function usage(problem?: string): never {
  process.stderr.write(`${problem === undefined ? '' : `verdicts: ${problem}\n`}${USAGE}\n`);
  process.exit(problem === undefined ? 0 : 2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      line: { type: 'string' },
      camera: { type: 'string' },
      topic: { type: 'string', default: TOPICS.verdicts },
      'from-beginning': { type: 'boolean', default: false },
      'to-end': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
} catch (err) {
  usage(argumentProblem(err));
}
const { values, positionals } = parsed;
if (values.help) usage();
if (positionals[0] !== 'tail' || positionals.length !== 1) usage(`expected the subcommand tail, got ${positionals.join(' ') || 'nothing'}`);
if (values['to-end'] && !values['from-beginning']) usage('--to-end reads from the beginning: add --from-beginning');

let kafka: KafkaConfig;
try {
  kafka = loadConfig(z.strictObject({ kafka: KafkaConfig.prefault({}) }), { envAliases: STANDARD_ENV_ALIASES, envSections: ['kafka'] }).kafka;
} catch (err) {
  usage(toLoomwatchError(err).message);
}
const client = createKafkaClient({ ...kafka, clientId: 'loomwatch-verdicts-tail' });
const options = {
  topic: values.topic,
  fromBeginning: values['from-beginning'],
  ...(values.line === undefined ? {} : { line: values.line }),
  ...(values.camera === undefined ? {} : { camera: values.camera }),
  write: (line: string) => process.stdout.write(`${line}\n`),
  warn: (line: string) => process.stderr.write(`${line}\n`),
};
if (values['to-end']) {
  await dumpVerdicts(client, options);
  process.exit(0);
}
const tail = await tailVerdicts(client, options);
const stop = (): void => void tail.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
