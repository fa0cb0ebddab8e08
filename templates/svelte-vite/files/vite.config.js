import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

// The preview runs the dev server behind a proxy: listen on every interface, on $PORT when set.
const server = {
  host: process.env.HOST || '0.0.0.0',
  port: Number(process.env.PORT) || 5173,
  strictPort: true,
  allowedHosts: true,
}

export default defineConfig({
  plugins: [svelte()],
  server,
  preview: server,
})
