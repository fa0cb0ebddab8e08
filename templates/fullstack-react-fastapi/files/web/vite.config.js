import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'
import tailwindcss from '@tailwindcss/vite'

// The browser only talks to this dev server; it forwards /api to the FastAPI backend.
// Both sides agree on the API port: $API_PORT, or one above the web port.
const port = Number(process.env.PORT) || 5173
const apiPort = Number(process.env.API_PORT) || port + 1

const server = {
  host: process.env.HOST || '0.0.0.0',
  port,
  strictPort: true,
  allowedHosts: true,
  proxy: {
    '/api': `http://127.0.0.1:${apiPort}`,
  },
}

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server,
  preview: server,
})
