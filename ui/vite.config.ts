/**
 * Build of the web UI: a single-page React app served by the registry under /ui. Output goes to
 * ui/dist (hashed file names under assets/, which the server caches for a year).
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
  },
  server: {
    // `npx vite ui` during development proxies the API to a local Berth.
    proxy: { '/api': 'http://127.0.0.1:5000', '/v2': 'http://127.0.0.1:5000' },
  },
});
