import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is served by ScaiKey itself at /console/ (src/protocols/console): hashed files under
// assets/ are cached for a year, index.html never (docs/console.md).
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline assets: the CSP allows images from 'self' and data:, but fonts and scripts only from 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // The initial-JavaScript budget (250 KB gzipped) is measured by `npm run bench -- --console`.
    chunkSizeWarningLimit: 700,
  },
});
