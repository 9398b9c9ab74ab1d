import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import { canonicalFrom, parseReplayArgs as parseOrHelp, type ReplayArgs } from './args.js';

const parseReplayArgs = (argv: string[]): ReplayArgs => parseOrHelp(argv) as ReplayArgs;

const base = ['--model', 'draem-aitex@1.2.0'];

function refusal(argv: string[]): LoomwatchError {
  try {
    parseReplayArgs(argv);
  } catch (err) {
    if (err instanceof LoomwatchError) return err;
    throw err;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('replay arguments', () => {
  it('reads a time range, a selection and a pinned model', () => {
    const args = parseReplayArgs([
      ...base,
      '--from',
      '2026-03-01T08:00:00+01:00',
      '--to',
      '2026-03-01T09:00:00Z',
      '--line',
      'line-2',
      '--line',
      'line-1',
      '--camera',
      'cam-1',
      '--workers',
      '2',
    ]);
    expect(args.from).toEqual({ kind: 'time', time: new Date('2026-03-01T07:00:00Z') });
    expect(args.to).toEqual({ kind: 'time', time: new Date('2026-03-01T09:00:00Z') });
    expect(args.selection).toEqual({ lines: ['line-1', 'line-2'], cameras: ['cam-1'] });
    expect(args.model).toEqual({ name: 'draem-aitex', version: '1.2.0' });
    expect(args.workers).toBe(2);
    expect(args.toTopic).toBeUndefined();
  });

  it('reads --frame-ids into the selection, and leaves the selection without them when not given', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'replay-args-')), 'reviewed.txt');
    writeFileSync(file, 'f-2\nf-1\n');
    expect(parseReplayArgs([...base, '--from', 'earliest', '--frame-ids', file]).selection).toEqual({ lines: [], cameras: [], frameIds: ['f-1', 'f-2'] });
    expect(parseReplayArgs([...base, '--from', 'earliest']).selection).not.toHaveProperty('frameIds');
    expect(refusal([...base, '--from', 'earliest', '--frame-ids', join(file, 'missing')])).toMatchObject({ code: 'REPLAY_INVALID', message: expect.stringMatching(/--frame-ids .* cannot be read/) });
  });

  it('runs the version named unless --precision says otherwise, and refuses a precision that does not exist', () => {
    expect(parseReplayArgs([...base, '--from', 'earliest']).precision).toBe('fp32');
    expect(parseReplayArgs([...base, '--from', 'earliest', '--precision', 'auto']).precision).toBe('auto');
    expect(refusal([...base, '--from', 'earliest', '--precision', 'fp16'])).toMatchObject({ code: 'REPLAY_INVALID', message: '--precision fp16 must be one of auto, fp32, int8' });
  });

  it('takes earliest, and partition:offset pairs in one canonical order', () => {
    expect(parseReplayArgs([...base, '--from', 'earliest']).from).toEqual({ kind: 'earliest' });
    const args = parseReplayArgs([...base, '--from', '3:40,0:120, 1:98']);
    expect(args.from.kind).toBe('offsets');
    expect(canonicalFrom(args.from)).toBe('0:120,1:98,3:40');
    expect(args.to).toEqual({ kind: 'now' });
  });

  it('refuses a model without a version: a replay never follows deployments', () => {
    const error = refusal(['--from', 'earliest', '--model', 'draem-aitex']);
    expect(error.code).toBe('REPLAY_INVALID');
    expect(error.message).toContain('draem-aitex@1.2.0');
  });

  it.each([['draem-aitex@..'], ['../etc@1.0.0'], ['draem-aitex@1.2.0/..'], ['Draem@1.2.0']])('refuses %j by the registry name rule', (model) => {
    expect(refusal(['--from', 'earliest', '--model', model])).toMatchObject({ code: 'REPLAY_INVALID', message: expect.stringContaining('must name one version') as unknown });
  });

  it('refuses a missing --from, a time it would have to guess, and a range that ends before it starts', () => {
    expect(refusal([...base]).message).toContain('--from is required');
    expect(refusal([...base, '--from', 'yesterday']).message).toContain('not an ISO 8601 time');
    expect(refusal([...base, '--from', '03/01/2026']).message).toContain('not an ISO 8601 time');
    expect(refusal([...base, '--from', '2026-03-02', '--to', '2026-03-01']).message).toContain('is not after');
  });

  it('answers --help instead of parsing', () => {
    expect(parseOrHelp(['--help'])).toBe('help');
  });

  it('refuses malformed offsets, partitions named twice, bad worker counts and unknown options', () => {
    expect(refusal([...base, '--from', '0:12,x']).message).toContain('not partition:offset');
    expect(refusal([...base, '--from', '0:12,0:14']).message).toContain('twice');
    expect(refusal([...base, '--from', 'earliest', '--workers', '0']).message).toContain('--workers');
    expect(refusal([...base, '--from', 'earliest', '--workers', '1.5']).message).toContain('--workers');
    expect(refusal([...base, '--from', 'earliest', '--frobnicate']).code).toBe('REPLAY_INVALID');
    expect(refusal([...base, '--from', 'earliest', '--to-topic', 'no spaces']).message).toContain('topic name');
  });
});
