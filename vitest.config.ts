import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// One unit project and one integration project per workspace package, named
// `unit:<dir>` and `integration:<dir>` so `--project 'unit:*'` selects a kind.
const workspaceDirs = ['packages', 'services', 'deploy', 'deploy/local'].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(join(group, entry.name, 'package.json')))
        .map((entry) => join(group, entry.name))
    : [],
);

const INTEGRATION = 'src/**/*.integration.test.ts';

// Tests run the workspace packages' TypeScript sources: their exports name them under this
// condition (and the compiled dist/ under `default`). The rest are vitest's default server
// conditions, which leave out `module` (it would pick bundler-only builds such as the AWS SDK's dist-es).
const SOURCE_CONDITIONS = { conditions: ['@loomwatch/source', 'node', 'development|production'] };

export default defineConfig({
  test: {
    projects: workspaceDirs.flatMap((dir) => {
      const name = dir.split('/').pop() ?? dir;
      return [
        {
          ssr: { resolve: SOURCE_CONDITIONS },
          test: {
            name: `unit:${name}`,
            root: dir,
            include: ['src/**/*.test.ts'],
            exclude: [INTEGRATION],
          },
        },
        {
          ssr: { resolve: SOURCE_CONDITIONS },
          test: {
            name: `integration:${name}`,
            root: dir,
            include: [INTEGRATION],
            globalSetup: [join(import.meta.dirname, 'packages/testkit/src/global-setup.ts')],
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
      ];
    }),
  },
});
