// The web UI build: Preact through esbuild's automatic JSX (no framework plugin), into dist/web,
// which the API server serves at `/`. No inline scripts (CSP script-src 'self').
import { defineConfig } from 'vite';
import { fileURLToPath, URL } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
    rollupOptions: {
      // client/index.ts re-exports the terminal attach layer; its top level (TextEncoders, a Set) is
      // side-effect free, so saying so keeps it, and the frames, in the lazy terminal chunk
      treeshake: { moduleSideEffects: (id) => !/[\\/](client[\\/]terminal|link[\\/]frames|link[\\/]protocol)\.ts$/.test(id) },
      // zod's own sources put two /* @__PURE__ */ comments where Rollup cannot use them; Rollup ignores
      // them (nothing breaks) and says so on every `npm start`: silence that one warning, from zod only
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION' && /[\\/]node_modules[\\/]zod[\\/]/.test(warning.id ?? '')) return;
        warn(warning);
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:3000', '/health': 'http://127.0.0.1:3000' } },
});
