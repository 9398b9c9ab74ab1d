import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { Verdict } from '../verdict.js';
import { contractFiles } from './contract-docs.js';

const REPO = join(import.meta.dirname, '../../../..');
const DOCS = join(REPO, 'docs');
const read = (path: string): string => readFileSync(join(DOCS, path), 'utf8');

describe('the MES contract in docs/', () => {
  it('is what the zod schemas generate (run `pnpm run docs` after changing a schema)', () => {
    const files = contractFiles();
    for (const [path, content] of files) expect(read(path), `docs/${path} is stale`).toBe(content);
    expect(readdirSync(join(DOCS, 'schemas')).sort()).toEqual([...files.keys()].filter((path) => path.startsWith('schemas/')).map((path) => path.slice(8)).sort());
  });

  it('is a valid AsyncAPI 3.0 document for @asyncapi/parser, with a channel per topic', async () => {
    const { document, diagnostics } = await new Parser().parse(read('asyncapi.yaml'));
    expect(diagnostics.filter((diagnostic) => Number(diagnostic.severity) === Number(DiagnosticSeverity.Error)).map((diagnostic) => diagnostic.message)).toEqual([]);
    expect(document?.channels().all().map((channel) => channel.address()).sort()).toEqual([
      'alerts.v1',
      'alerts.webhooks.dlq.v1',
      'control.v1',
      'drift.v1',
      'feedback.v1',
      'frames.dlq.v1',
      'frames.v1',
      'verdicts.shadow.v1',
      'verdicts.v1',
    ]);
    const control = document?.channels().all().find((channel) => channel.address() === 'control.v1');
    expect(control?.messages().all().map((message) => message.name()).sort()).toEqual(['Deployment', 'ReplayPlan', 'RetrainRequest']);
  });

  it('validates a verdict with a JSON-Schema validator that knows only the schema file, and rejects a broken one', () => {
    const validate = validator('schemas/verdict.v1.json');
    expect(validate(verdict), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...verdict, score: 2 })).toBe(false);
    expect(validate({ ...verdict, extra: true })).toBe(false);
  });

  it('validates every model card in the registry against model-card.v1.json, and refuses a broken one', () => {
    const validate = validator('schemas/model-card.v1.json');
    const registry = join(REPO, 'models/registry');
    const cards = readdirSync(registry, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile() && entry.name === 'model.json')
      .map((entry) => join(entry.parentPath, entry.name));
    expect(cards.length).toBeGreaterThan(3);
    for (const file of cards) {
      const card = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      expect(validate(card), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    const card = JSON.parse(readFileSync(cards[0] ?? '', 'utf8')) as Record<string, unknown>;
    expect(validate({ ...card, version: 'one' })).toBe(false);
    expect(validate({ ...card, note: 'a misspelt notes' })).toBe(false);
    expect(validate({ ...card, input: { ...(card['input'] as object), tileSize: 'large' } })).toBe(false);
  });
});

/** A validator that knows only the schema file. */
function validator(path: string) {
  // ajv-formats is CommonJS: under NodeNext its default import is the module, the plugin is `.default`.
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormatsModule.default(ajv);
  return ajv.compile(JSON.parse(read(path)) as object);
}

/** A valid verdict, as a worker publishes it. */
const verdict: Verdict = {
  frameId: 'line-1.cam-1.1',
  lineId: 'line-1',
  cameraId: 'cam-1',
  seq: 1,
  capturedAt: '2026-11-23T08:00:00.000Z',
  decidedAt: '2026-11-23T08:00:00.500Z',
  verdict: 'defect',
  score: 0.7,
  normalizedScore: 0.7,
  threshold: 0.5,
  regions: [{ x: 10, y: 10, width: 10, height: 10, area: 100, maxScore: 0.7, meanScore: 0.6 }],
  model: { name: 'draem-aitex', version: '1.1.0', sha256: 'a'.repeat(64) },
  anomalyMap: { bucket: 'loomwatch-results', key: 'maps/line-1/cam-1/1.png' },
  overlay: { bucket: 'loomwatch-results', key: 'overlays/line-1/cam-1/1.jpg' },
  inputStats: { mean: 0.5, std: 0.1, min: 0, max: 1, histogram: Array<number>(16).fill(1 / 16) },
  timings: { decodeMs: 1, inferMs: 100, postMs: 5, totalMs: 110 },
  workerId: 'worker-1',
};
