import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The page: page/ bundled into dist/public, served by the dashboard server; nothing is fetched from elsewhere at run time. */
export default defineConfig({
  root: fileURLToPath(new URL('./page', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist/public', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One small bundle: no module preload polyfill fetched at run time.
    modulePreload: { polyfill: false },
  },
});
