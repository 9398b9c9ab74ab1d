/** Writes docs/asyncapi.yaml and docs/schemas/*.json from the zod schemas. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { contractFiles } from './contract-docs.js';

const docs = join(import.meta.dirname, '../../../../docs');
for (const [path, content] of contractFiles()) {
  mkdirSync(dirname(join(docs, path)), { recursive: true });
  writeFileSync(join(docs, path), content);
  process.stdout.write(`wrote docs/${path}\n`);
}
