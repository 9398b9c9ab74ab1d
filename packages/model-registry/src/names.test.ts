import { describe, expect, it } from 'vitest';
import { MODEL_REF, modelRefParts, parseModelRef } from './names.js';

describe('model references', () => {
  it('takes a registry name, or a name and a semantic version', () => {
    expect(parseModelRef('draem-aitex')).toEqual({ name: 'draem-aitex' });
    expect(parseModelRef('draem-aitex@1.1.0')).toEqual({ name: 'draem-aitex', version: '1.1.0' });
    expect(parseModelRef('draem-aitex@1.1.0-int8.2')).toEqual({ name: 'draem-aitex', version: '1.1.0-int8.2' });
    expect(parseModelRef('patchcore-aitex@0.0.1-rc1')).toEqual({ name: 'patchcore-aitex', version: '0.0.1-rc1' });
  });

  it.each([
    ['.'],
    ['..'],
    ['draem-aitex@..'],
    ['draem-aitex@.'],
    ['../etc'],
    ['draem-aitex/1.1.0'],
    ['/abs/dir'],
    ['./dir'],
    ['..\\x'],
    ['draem-aitex@1.1.0\\..'],
    ['%2e%2e'],
    ['draem-aitex@%2e%2e'],
    ['draem-aitex@1.1.0/..'],
    ['.hidden'],
    ['Draem-Aitex'],
    ['draem_aitex'],
    ['draem-aitex@latest'],
    ['draem-aitex@1.1.0@1.2.0'],
    ['@1.1.0'],
    [''],
    ['a'.repeat(65)],
  ])('refuses %j with MODEL_NOT_FOUND naming the rule', (ref) => {
    expect(modelRefParts(ref)).toBeUndefined();
    expect(MODEL_REF.test(ref)).toBe(false);
    expect(() => parseModelRef(ref)).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('name or name@version') as unknown }));
  });
});
