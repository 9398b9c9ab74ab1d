import { describe, expect, it } from 'vitest';
import { toProblem } from './problem.js';
import { parseInferQuery } from './query.js';

/** The status, code and detail a query is refused with. */
function refusal(query: string): { status: number; code: string; detail: string } {
  try {
    parseInferQuery(new URLSearchParams(query));
  } catch (thrown) {
    const { status, problem } = toProblem(thrown);
    return { status, code: problem.code, detail: problem.detail };
  }
  throw new Error(`?${query} was accepted`);
}

describe('parseInferQuery', () => {
  it('takes a model, a fabric code and a false-alarm rate, each optional', () => {
    expect(parseInferQuery(new URLSearchParams(''))).toEqual({});
    expect(parseInferQuery(new URLSearchParams('model=patchcore-aitex@1.1.0&fabric=05&falseAlarmRate=0.02'))).toEqual({ model: 'patchcore-aitex@1.1.0', fabric: '05', falseAlarmRate: 0.02 });
    expect(['0.001', '.2', '2e-2', '0.1'].map((rate) => parseInferQuery(new URLSearchParams({ falseAlarmRate: rate })).falseAlarmRate)).toEqual([0.001, 0.2, 0.02, 0.1]);
    expect(parseInferQuery(new URLSearchParams(`fabric=denim-blue_2.${'x'.repeat(19)}`)).fabric).toHaveLength(32);
  });

  it('refuses a fabric code a gateway could not send with 400 QUERY_INVALID naming the parameter', () => {
    for (const fabric of ['', 'denim%20blue', 'a%2Fb', 'x'.repeat(33)]) {
      const { status, code, detail } = refusal(`fabric=${fabric}`);
      expect([status, code], fabric).toEqual([400, 'QUERY_INVALID']);
      expect(detail, fabric).toMatch(/^bad query — fabric: /);
    }
  });

  it('refuses a false-alarm rate outside what a deployment may pick, or not a number, with 400 QUERY_INVALID', () => {
    for (const rate of ['0', '0.0009', '0.25', '1', '-0.01', '5%', '0x10', 'Infinity', 'NaN', '']) {
      const { status, code, detail } = refusal(`falseAlarmRate=${encodeURIComponent(rate)}`);
      expect([status, code], rate).toEqual([400, 'QUERY_INVALID']);
      expect(detail, rate).toMatch(/^bad query — falseAlarmRate: /);
    }
  });

  it('refuses an unknown parameter instead of ignoring it, pointing fabricCode to fabric', () => {
    expect(refusal('fabricCode=05')).toMatchObject({ status: 400, code: 'QUERY_INVALID', detail: expect.stringContaining('fabricCode: unknown parameter, use fabric') as string });
    expect(refusal('colour=red').detail).toContain('colour: unknown parameter');
    expect(refusal('constructor=1').detail).toContain('constructor: unknown parameter (the parameters are model, fabric, falseAlarmRate)');
  });

  it('refuses a parameter given twice, since which one applies would be a guess', () => {
    expect(refusal('fabric=05&fabric=07')).toMatchObject({ status: 400, code: 'QUERY_INVALID', detail: 'fabric: given more than once; give it once' });
  });

  it('takes a registry model reference: a name, or a name at a semantic version', () => {
    for (const model of ['draem-aitex', 'draem-aitex@1.1.0', 'draem-aitex@1.1.0-int8.2', 'patchcore-aitex@1.2.0', `m${'x'.repeat(63)}`]) {
      expect(parseInferQuery(new URLSearchParams({ model })).model, model).toBe(model);
    }
  });

  it('refuses any other model reference — a path, a traversal, an encoded one, unicode — with 400 QUERY_INVALID saying what a reference looks like', () => {
    const refused = ['..', '../..', '..%2F..%2Fetc', '%2e%2e', 'a/b', 'a\\b', '.hidden', 'draem-aitex@..', 'draem-aitex@1.1.0/../x', 'draem-aitex@1.1.0-a..b', 'Draem', 'dräm', 'draem aitex', '/etc/passwd', 'draem-aitex@1.1', 'draem-aitex@@1.1.0', '', `m${'x'.repeat(64)}`];
    for (const model of refused) {
      const { status, code, detail } = refusal(`model=${encodeURIComponent(model)}`);
      expect([status, code], model).toEqual([400, 'QUERY_INVALID']);
      expect(detail, model).toContain('model: a registry model: name or name@version, e.g. draem-aitex or draem-aitex@1.1.0');
    }
    expect(refusal('model=..%2F..%2Fetc').detail).not.toContain('etc');
  });
});
