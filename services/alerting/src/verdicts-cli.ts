/**
 * pnpm --silent verdicts tail [--line L] [--camera C] [--from-beginning] [--topic T]
 * Prints verdicts as JSON lines on stdout (read_committed); messages that are not valid verdicts
 * are reported on stderr. Brokers from KAFKA_BROKERS (default 127.0.0.1:19092).
 */
import { parseArgs } from 'node:util';
import { TOPICS } from '@loomwatch/contracts';
import { createKafkaClient } from '@loomwatch/kafka';
import { tailVerdicts } from './verdicts-tail.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    line: { type: 'string' },
    camera: { type: 'string' },
    topic: { type: 'string', default: TOPICS.verdicts },
    'from-beginning': { type: 'boolean', default: false },
  },
});
if (positionals[0] !== 'tail') {
  process.stderr.write('usage: verdicts tail [--line L] [--camera C] [--from-beginning] [--topic T]\n');
  process.exit(2);
}
const client = createKafkaClient({ brokers: (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(','), clientId: 'loomwatch-verdicts-tail' });
const tail = await tailVerdicts(client, {
  topic: values.topic,
  fromBeginning: values['from-beginning'],
  ...(values.line === undefined ? {} : { line: values.line }),
  ...(values.camera === undefined ? {} : { camera: values.camera }),
  write: (line) => process.stdout.write(`${line}\n`),
  warn: (line) => process.stderr.write(`${line}\n`),
});
const stop = (): void => void tail.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
