import path from 'node:path'
import { fileURLToPath } from 'node:url'
import express from 'express'
import itemsRouter from './routes/items.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const app = express()

// Browsers take each answer as the type it says it is, never guessing another from its bytes.
app.use((req, res, next) => {
  res.set('X-Content-Type-Options', 'nosniff')
  next()
})
app.use(express.json({ limit: '100kb' }))

// JSON API: every endpoint lives under /api, one router file per resource in routes/.
app.get('/api/health', (req, res) => res.json({ ok: true }))
app.use('/api/items', itemsRouter)
app.use('/api', (req, res) => res.status(404).json({ error: `No API endpoint ${req.method} ${req.originalUrl}` }))

// The web page that uses the API: plain files in public/.
app.use(express.static(path.join(here, 'public')))

// Errors answer in JSON with a status, never an HTML stack trace.
app.use((err, req, res, next) => {
  const status = err.status || err.statusCode || 500
  if (status >= 500) console.error(err)
  res.status(status).json({ error: status >= 500 ? 'Something went wrong on the server.' : err.message })
})

const port = Number(process.env.PORT) || 3000
const host = process.env.HOST || '0.0.0.0'
app.listen(port, host, () => {
  console.log(`Listening on http://${host}:${port}`)
})
