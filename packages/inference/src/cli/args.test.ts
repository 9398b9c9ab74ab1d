import { describe, expect, it } from 'vitest';
import { parseInferArgs } from './args.js';

describe('parseInferArgs', () => {
  it('reads the model, the inputs and every option', () => {
    const args = parseInferArgs([
      '--model', 'draem-random@0.0.1', '--maps-dir', 'maps', '--overlays-dir', 'ov', '--threads', '2', '--registry', '/r',
      '--stride', '128', '--batch', '4', '--colour', 'convert', '--overlay-format', 'jpeg', '--fabric', '02', '--false-alarm-rate', '0.02', 'a.png', 'frames/',
    ]);
    expect(args).toEqual({
      model: 'draem-random@0.0.1',
      inputs: ['a.png', 'frames/'],
      mapsDir: 'maps',
      overlaysDir: 'ov',
      overlayFormat: 'jpeg',
      fabric: '02',
      falseAlarmRate: 0.02,
      config: { registryRoot: '/r', intraOpNumThreads: 2, stride: 128, maxBatch: 4, colour: 'convert' },
    });
  });

  it('leaves unset options to the config defaults', () => {
    expect(parseInferArgs(['--model', 'm', 'x.png'])).toMatchObject({ config: {}, overlayFormat: 'png', mapsDir: undefined, fabric: undefined, falseAlarmRate: undefined });
  });

  it('leaves the model unnamed when --model is not given (the command picks the default model)', () => {
    expect(parseInferArgs(['x.png'])).toMatchObject({ model: undefined, inputs: ['x.png'] });
  });

  it('rejects no inputs, unknown flags and bad numbers as CONFIG_INVALID', () => {
    for (const argv of [['--model', 'm'], ['--model', 'm', '--bogus', 'x.png'], ['--model', 'm', '--threads', 'two', 'x.png'], ['--model', 'm', '--batch', '0', 'x.png']]) {
      expect(() => parseInferArgs(argv)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });

  it('refuses a false-alarm rate outside 0.001 to 0.2, or not a number, naming the range', () => {
    for (const rate of ['0.5', '0', '0.0001', 'two', '']) {
      expect(() => parseInferArgs(['--false-alarm-rate', rate, 'x.png'])).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('--false-alarm-rate must be a share between 0.001 and 0.2') as unknown }),
      );
    }
  });

  it('answers --help', () => {
    expect(parseInferArgs(['--help'])).toBe('help');
  });
});
