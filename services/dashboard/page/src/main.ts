/** The page's entry point: Vite bundles it, and everything it imports, into dist/public. */
import './app.js';
