import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { contractFiles } from './contract-docs.js';
import { craftVerdict } from './testing/verdicts.js';

const DOCS = join(import.meta.dirname, '../../../docs');
const read = (path: string): string => readFileSync(join(DOCS, path), 'utf8');

describe('the MES contract in docs/', () => {
  it('is what the zod schemas generate (run `pnpm --filter @loomwatch/alerting docs` after changing a schema)', () => {
    const files = contractFiles();
    for (const [path, content] of files) expect(read(path), `docs/${path} is stale`).toBe(content);
    expect(readdirSync(join(DOCS, 'schemas')).sort()).toEqual([...files.keys()].filter((path) => path.startsWith('schemas/')).map((path) => path.slice(8)).sort());
  });

  it('is a valid AsyncAPI 3.0 document for @asyncapi/parser, with a channel per topic', async () => {
    const { document, diagnostics } = await new Parser().parse(read('asyncapi.yaml'));
    expect(diagnostics.filter((diagnostic) => Number(diagnostic.severity) === Number(DiagnosticSeverity.Error)).map((diagnostic) => diagnostic.message)).toEqual([]);
    expect(document?.channels().all().map((channel) => channel.address()).sort()).toEqual(['alerts.v1', 'control.v1', 'frames.dlq.v1', 'frames.v1', 'verdicts.shadow.v1', 'verdicts.v1']);
  });

  it('validates a verdict with a JSON-Schema validator that knows only the schema file, and rejects a broken one', () => {
    // ajv-formats is CommonJS: under NodeNext its default import is the module, the plugin is `.default`.
    const addFormats = addFormatsModule.default;
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(read('schemas/verdict.v1.json')) as object);
    const verdict = craftVerdict(1, true);
    expect(validate(verdict), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...verdict, score: 2 })).toBe(false);
    expect(validate({ ...verdict, extra: true })).toBe(false);
  });
});
