import { describe, expect, it } from 'vitest';
import { parseReportArgs } from './report-args.js';
import { runReportCommand } from './report-cli.js';

describe('parseReportArgs', () => {
  it('defaults the baseline, frames topic, Markdown and the out dir under the working directory', () => {
    expect(parseReportArgs(['--replay-topic', 'verdicts.shadow.v1'], '/srv')).toEqual({
      replayTopic: 'verdicts.shadow.v1',
      baseline: 'verdicts.v1',
      framesTopic: 'frames.v1',
      outDir: '/srv/reports/replay/verdicts.shadow.v1',
      format: 'md',
      feedbackTopic: undefined,
      json: false,
      objectUrl: '/api/objects/',
    });
  });

  it('reads --feedback-topic and --json', () => {
    expect(parseReportArgs(['--replay-topic', 't', '--feedback-topic', 'feedback.v1', '--json'], '/srv')).toMatchObject({ feedbackTopic: 'feedback.v1', json: true });
  });

  it('resolves a relative --out against the working directory', () => {
    expect(parseReportArgs(['--replay-topic', 't', '--out', 'r', '--format', 'html'], '/srv')).toMatchObject({ outDir: '/srv/r', format: 'html' });
  });

  it.each([
    [[], '--replay-topic is required'],
    [['--replay-topic', 'verdicts.v1'], '--replay-topic, --baseline, --frames-topic must be different topics'],
    [['--replay-topic', 't', '--feedback-topic', 'frames.v1'], '--feedback-topic must be different topics'],
    [['--replay-topic', 't', '--feedback-topic', 'feed back'], '--feedback-topic "feed back" is not a Kafka topic name'],
    [['--replay-topic', 't', '--format', 'pdf'], '--format must be md or html'],
    [['--replay-topic', 'a/b'], 'is not a Kafka topic name'],
    [['--replay-topic', 't', '--bogus'], "unknown option '--bogus'"],
    [['--replay-topic', 't', '--object-url', 'a b/'], '--object-url "a b/" must be a URL or path prefix'],
  ])('rejects %j with REPLAY_INVALID saying what to do', (argv, message) => {
    expect(() => parseReportArgs(argv, '/srv')).toThrow(expect.objectContaining({ code: 'REPLAY_INVALID', message: expect.stringContaining(message) }));
  });
});

describe('runReportCommand', () => {
  it('exits 2 with the reason and the usage on bad arguments, before touching Kafka', async () => {
    const errors: string[] = [];
    const code = await runReportCommand(['--format', 'md'], { stderr: (line) => errors.push(line), stdout: () => undefined });
    expect(code).toBe(2);
    expect(errors).toEqual([expect.stringMatching(/replay report: --replay-topic is required.*replay report --help shows the options/)]);
  });

  it('exits 2 on an invalid Kafka configuration, naming the setting', async () => {
    const errors: string[] = [];
    const code = await runReportCommand(['--replay-topic', 't'], { env: { LOOMWATCH_KAFKA__SASL__MECHANISM: 'MD5' }, stderr: (line) => errors.push(line) });
    expect(code).toBe(2);
    expect(errors.join('\n')).toContain('kafka.sasl.mechanism');
  });
});
