import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

// `station serve` embeds dist/ and serves it at /, with the API under /api on the same origin.
// `npm run dev` proxies /api to a station on STATION_HTTP (default 127.0.0.1:8080).
export default defineConfig({
  plugins: [vue()],
  base: './',
  build: { outDir: 'dist', chunkSizeWarningLimit: 1500 },
  server: {
    proxy: { '/api': `http://${process.env.STATION_HTTP ?? '127.0.0.1:8080'}` },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
  },
})
