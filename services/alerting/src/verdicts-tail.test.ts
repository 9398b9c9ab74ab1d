import { describe, expect, it } from 'vitest';
import { encodeMessage, Verdict } from '@loomwatch/contracts';
import { craftVerdict } from './testing/verdicts.js';
import { tailLine } from './verdicts-tail.js';

describe('verdicts tail', () => {
  const verdict = craftVerdict(4, true, { line: 'line-2', camera: 'cam-1' });
  const value = encodeMessage(Verdict, verdict);

  it('prints a verdict as one JSON line that parses back to the verdict', () => {
    const line = tailLine(value, {}, 'verdicts.v1[0]@4');
    expect(line).toEqual({ out: expect.not.stringContaining('\n') });
    expect(JSON.parse((line as { out: string }).out)).toEqual(verdict);
  });

  it('keeps only the line and camera asked for', () => {
    expect(tailLine(value, { line: 'line-1' }, 'x')).toBeUndefined();
    expect(tailLine(value, { line: 'line-2', camera: 'cam-2' }, 'x')).toBeUndefined();
    expect(tailLine(value, { line: 'line-2', camera: 'cam-1' }, 'x')).toHaveProperty('out');
  });

  it('reports a message that is not a valid verdict on stderr, naming where it is', () => {
    expect(tailLine(Buffer.from('{"frameId":"x"}'), {}, 'verdicts.v1[2]@17')).toEqual({ err: expect.stringMatching(/^verdicts\.v1\[2\]@17: message does not match its schema/) });
  });
});
