/// <reference types="vitest/config" />
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// Plain React without the React plugin: esbuild compiles JSX with the automatic runtime.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: {
      input: {
        helpdesk: resolve(import.meta.dirname, 'index.html'),
        portal: resolve(import.meta.dirname, 'portal/index.html'),
      },
    },
  },
  server: {
    proxy: {
      '/graphql/ws': { target: 'ws://127.0.0.1:8080', ws: true },
      '/graphql': 'http://127.0.0.1:8080',
      '/attachments': 'http://127.0.0.1:8080',
    },
  },
  test: { include: ['src/**/*.test.ts'] },
});
