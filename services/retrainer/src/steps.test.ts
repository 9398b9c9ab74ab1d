import { describe, expect, it } from 'vitest';
import { refusalReasons } from './steps.js';

describe('the refit\'s refusal', () => {
  it('gives the gate\'s reasons from its refusal line', () => {
    expect(refusalReasons('patchcore-aitex@1.2.1 …\ngate refused: validation AUROC 0.91 below 0.95; held-out false alarms not fewer — not to be promoted (promote refuses it)\n')).toEqual([
      'validation AUROC 0.91 below 0.95',
      'held-out false alarms not fewer',
    ]);
  });

  it('falls back to the last line when there is no refusal line', () => {
    expect(refusalReasons('something\nthe last words\n')).toEqual(['the last words']);
  });
});
