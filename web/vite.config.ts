/// <reference types="vitest/config" />
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// Plain React without the React plugin: esbuild compiles JSX with the automatic runtime.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  plugins: [
    {
      // In development, client routes of the portal get the portal's page (the server does the
      // same for the built bundle); Vite's own fallback would serve the helpdesk's.
      name: 'portal-fallback',
      configureServer(server) {
        server.middlewares.use((req, _res, next) => {
          if (req.url && /^\/portal(\/[^.]*)?(\?.*)?$/.test(req.url)) req.url = '/portal/index.html';
          next();
        });
      },
    },
  ],
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
