/**
 * How `loomwatch topics apply` shows its outcome: one table row per topic as it is done (topic,
 * partitions, replicas, status, what differs), a closing line, and the same as JSON with --json.
 */
import type { TopicOutcome } from '@loomwatch/kafka';

/** Widths of the columns before DETAILS; the first fits the longest topic name. */
function widths(topicWidth: number): number[] {
  return [Math.max(topicWidth, 'TOPIC'.length), 'PARTITIONS'.length, 'REPLICAS'.length, 'STATUS'.length + 1];
}

const row = (topicWidth: number, cells: readonly string[], rest: string): string => {
  const width = widths(topicWidth);
  return `${cells.map((cell, i) => cell.padEnd(width[i] ?? 0)).join('  ')}  ${rest}`.trimEnd();
};

export function tableHeader(topicWidth: number): string {
  return row(topicWidth, ['TOPIC', 'PARTITIONS', 'REPLICAS', 'STATUS'], 'DETAILS');
}

/** `declared` where it stands as declared, `actual→declared` where apply changed it, `actual≠declared` where it still differs. */
function shown(outcome: TopicOutcome, field: 'partitions' | 'replicationFactor'): string {
  const declared = String(outcome.specification[field]);
  const difference = outcome.differences.find((d) => d.field === field);
  if (difference === undefined) return declared;
  return outcome.remaining.includes(difference) ? `${difference.actual}≠${declared}` : `${difference.actual}→${declared}`;
}

/** One line for a topic: what was created, changed, or still differs (declared value in brackets). */
export function tableRow(outcome: TopicOutcome, topicWidth: number): string {
  const details =
    outcome.status === 'created' || outcome.status === 'missing'
      ? Object.entries(outcome.specification.configs)
          .map(([name, value]) => `${name}=${value}`)
          .join(' ')
      : outcome.differences
          .filter((difference) => difference.field !== 'partitions' && difference.field !== 'replicationFactor')
          .map((difference) => (outcome.remaining.includes(difference) ? `${difference.field} ${difference.actual} (declared ${difference.declared})` : `${difference.field} ${difference.actual}→${difference.declared}`))
          .join(', ');
  return row(topicWidth, [outcome.topic, shown(outcome, 'partitions'), shown(outcome, 'replicationFactor'), outcome.status], details);
}

/** What to do about the differences that remain: each hint once, after the table. */
export function hintLines(outcomes: readonly TopicOutcome[]): string[] {
  const hints = new Map<string, Set<string>>();
  for (const outcome of outcomes) {
    for (const difference of outcome.remaining) {
      if (difference.hint === undefined) continue;
      const topics = hints.get(`${difference.field}: ${difference.hint}`) ?? new Set<string>();
      hints.set(`${difference.field}: ${difference.hint}`, topics.add(outcome.topic));
    }
  }
  return [...hints].map(([hint, topics]) => `${hint} (${topics.size === outcomes.length ? 'every topic' : [...topics].join(', ')})`);
}

/** Whether the cluster now stands as declared (checking: stood). */
export function allAsDeclared(outcomes: readonly TopicOutcome[]): boolean {
  return outcomes.every((outcome) => outcome.status === 'ok' || outcome.status === 'created' || outcome.status === 'altered');
}

export function summaryLine(outcomes: readonly TopicOutcome[], check: boolean): string {
  const count = (status: TopicOutcome['status']): number => outcomes.filter((outcome) => outcome.status === status).length;
  if (check) {
    return allAsDeclared(outcomes)
      ? `${outcomes.length} topics as declared`
      : `${count('missing')} missing, ${count('drift')} differ of ${outcomes.length} topics: loomwatch topics apply creates the missing and sets the configs`;
  }
  const done = `${count('created')} created, ${count('altered')} changed, ${count('ok')} already as declared`;
  return count('drift') === 0 ? done : `${done}; ${count('drift')} still differ: apply leaves partitions it may not grow and replication to you`;
}

/** The --json document. */
export function jsonReport(outcomes: readonly TopicOutcome[], check: boolean): Record<string, unknown> {
  return {
    mode: check ? 'check' : 'apply',
    asDeclared: allAsDeclared(outcomes),
    topics: outcomes.map((outcome) => ({
      topic: outcome.topic,
      status: outcome.status,
      declared: outcome.specification,
      actual: outcome.state === undefined ? null : { partitions: outcome.state.partitions, replicationFactor: outcome.state.replicationFactor },
      differences: outcome.differences.map((difference) => ({ ...difference, remaining: outcome.remaining.includes(difference) })),
    })),
  };
}
