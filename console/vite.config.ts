/** Vite's settings for the web console: a Preact app in console/src, built into console/dist, served by the server at /. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** Where the dev server (`npm run console:dev`) sends API calls: a server running as `npm start` leaves it. */
const API = process.env.MOXXY_URL ?? 'http://127.0.0.1:17890';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // src/http/routes/console.ts serves the assets here; the page itself is served at /.
  base: '/console/',
  resolve: {
    // The project's own client, by its package name (clients/typescript).
    alias: { '@moxxy/client': fileURLToPath(new URL('../clients/typescript/src/index.ts', import.meta.url)) },
  },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Every asset as a file: the Content-Security-Policy allows no data: URIs.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: { proxy: Object.fromEntries(['/api', '/v1', '/trpc'].map((path) => [path, API])) },
});
