import { describe, expect, it } from 'vitest';
import { emittedFile, buildLayoutProblems, workspaceBuildProblems, type BuildLayout } from './build-layout.js';
import { REPO_ROOT } from './infra.js';

describe('the build layout', () => {
  it('resolves every workspace export to its source under @loomwatch/source and to what tsc emits otherwise, builds every package, starts only compiled sources', () => {
    expect(workspaceBuildProblems(REPO_ROOT)).toEqual([]);
  });

  it('maps a source under src/ to the file tsc emits in dist/', () => {
    expect(emittedFile('./src/index.ts')).toBe('./dist/index.js');
    expect(emittedFile('./src/model/fixtures.ts')).toBe('./dist/model/fixtures.js');
    expect(emittedFile('./lib/index.ts')).toBeUndefined();
  });

  it('reports a bare export, a stale default, a missing source, an unbuilt package and a start script without a source', () => {
    const files = new Set(['packages/a/tsconfig.json', 'packages/a/src/index.ts', 'packages/a/src/testing.ts', 'services/s/src/main.ts']);
    const layout: BuildLayout = {
      buildReferences: ['packages/a'],
      manifests: [
        {
          dir: 'packages/a',
          name: '@loomwatch/a',
          exports: {
            '.': { '@loomwatch/source': './src/index.ts', default: './dist/main.js' },
            './testing': './src/testing.ts',
            './fixtures': { '@loomwatch/source': './src/fixtures.ts', default: './dist/fixtures.js' },
            './first': { default: './dist/index.js', '@loomwatch/source': './src/index.ts' },
          },
        },
        { dir: 'services/s', name: '@loomwatch/s', scripts: { start: 'node dist/main.js', cli: 'node dist/cli.js --flag' } },
        { dir: '', name: 'loomwatch', scripts: { worker: 'tsc -b services/s && node services/s/dist/main.js' } },
      ],
    };
    expect(buildLayoutProblems(layout, (path) => files.has(path))).toEqual([
      '@loomwatch/a export ".": "default" names ./dist/main.js, but tsc emits ./src/index.ts as ./dist/index.js',
      '@loomwatch/a export "./testing" must map "@loomwatch/source" to its src/….ts, then "default" to the dist/….js tsc emits for it',
      '@loomwatch/a export "./fixtures": "@loomwatch/source" names ./src/fixtures.ts, not an existing ./src/….ts file',
      '@loomwatch/a export "./first" must map "@loomwatch/source" to its src/….ts, then "default" to the dist/….js tsc emits for it',
      'services/s is not referenced by tsconfig.build.json: pnpm build would not compile it',
      'services/s has no tsconfig.json',
      '@loomwatch/s starts dist/cli.js, but services/s/src/cli.ts does not exist to compile it from',
    ]);
  });
});
