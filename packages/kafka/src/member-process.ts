/**
 * One exactly-once member as its own process, for the tests that must kill one without a goodbye
 * (SIGKILL: no LeaveGroup, no transaction ended). It reads `MEMBER_INPUT`, writes `out-<value>`
 * for each record to `MEMBER_OUTPUT`, and reports on stdout, one JSON line each:
 * `{"event":"assigned","partitions":[…],"generation":n,"at":ms}`, `{"event":"committed","values":[…],"at":ms}`
 * and `{"event":"fatal","message":…}`. SIGTERM stops it gracefully (a static member stays in the
 * group), SIGUSR2 stops it leaving the group for good. `MEMBER_GROUP_PROTOCOL` picks the group
 * protocol (classic or consumer, KIP-848). A member refused the group at its start (KIP-848: another
 * member holds its group.instance.id) reports `fatal` too. Run with `node --conditions=@loomwatch/source --import tsx`.
 */
import { createLogger } from '@loomwatch/observability';
import { createKafkaClient } from './platformatic/client.js';

const setting = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set: the test that spawns this member names it`);
  return value;
};
const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify({ ...event, at: Date.now() })}\n`);

const output = setting('MEMBER_OUTPUT');
const client = createKafkaClient({
  brokers: setting('MEMBER_BROKERS').split(','),
  clientId: 'contract-member',
  groupInstanceId: process.env['MEMBER_INSTANCE_ID'] || undefined,
  groupProtocol: process.env['MEMBER_GROUP_PROTOCOL'] === 'consumer' ? 'consumer' : 'classic',
});
const member = client.exactlyOnce({
  groupId: setting('MEMBER_GROUP'),
  topic: setting('MEMBER_INPUT'),
  logger: createLogger({ service: 'contract-member', level: process.env['MEMBER_LOG_LEVEL'] === 'warn' ? 'warn' : 'silent' }, process.stderr),
  sessionTimeoutMs: Number(process.env['MEMBER_SESSION_TIMEOUT_MS'] ?? 10_000),
  heartbeatIntervalMs: 500,
  maxWaitTimeMs: 500,
  retry: { initialMs: 10, maxMs: 50 },
  handler: (record) => Promise.resolve([{ topic: output, key: record.key ?? '', value: Buffer.from(`out-${record.value?.toString() ?? ''}`), headers: { member: String(process.pid) } }]),
  onPermanentError: () => [],
  onAssigned: (partitions, generation) => say({ event: 'assigned', partitions, generation }),
  onCommitted: (records) => say({ event: 'committed', values: records.map((record) => record.value?.toString() ?? '') }),
});
const fatal = (error: Error): void => {
  say({ event: 'fatal', message: error.message });
  process.exit(3);
};
member.onFatal(fatal);
// SIGTERM: a graceful stop (a static member keeps its place); SIGUSR2: leaving the group for good.
process.once('SIGTERM', () => void member.stop().then(() => process.exit(0)));
process.once('SIGUSR2', () => void member.stop({ leaveGroup: true }).then(() => process.exit(0)));
await member.start().then(() => say({ event: 'started' }), fatal);
