import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'
import { fileURLToPath } from 'node:url'

// `station serve` embeds dist/ and serves it at /, with the API under /api on the same origin.
// `npm run dev` proxies /api to a station on STATION_HTTP (default 127.0.0.1:8080), and the
// viewer's /dicom-web to the same station, or to DICOMWEB_ORIGIN (any server whose DICOMweb root
// is /dicom-web, e.g. an Orthanc at http://127.0.0.1:8042) while developing against another.
const station = `http://${process.env.STATION_HTTP ?? '127.0.0.1:8080'}`
export default defineConfig({
  plugins: [vue()],
  base: './',
  resolve: {
    alias: [
      {
        find: /^@kitware\/vtk\.js\/IO\/(XML\/XMLPolyDataReader|Geometry\/PLYReader|Geometry\/STLReader|Misc\/OBJReader|Misc\/MTLReader)(\.js)?$/,
        replacement: fileURLToPath(new URL('./src/viewer/vtkUnused.ts', import.meta.url)),
      },
    ],
  },
  build: { outDir: 'dist', chunkSizeWarningLimit: 1500 },
  server: {
    proxy: {
      '/api': station,
      '/dicom-web': { target: process.env.DICOMWEB_ORIGIN ?? station, changeOrigin: true },
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
    // The clinic's zone, whatever the machine's: local-time formatting is tested as a clinic sees it.
    env: { TZ: 'Asia/Shanghai' },
  },
})
