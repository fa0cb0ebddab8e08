// Deletes an item only for a request with a session.
import express from 'express'

const app = express()
const items = new Map([['1', 'Bread'], ['2', 'Milk']])

app.use(express.json())
app.use((req, res, next) => {
  res.set('X-Content-Type-Options', 'nosniff')
  res.set('Content-Security-Policy', "default-src 'self'")
  next()
})

app.get('/', (req, res) => res.type('html').send('<h1>Shopping list</h1>'))

app.delete('/api/items/:id', (req, res) => {
  if (!/(^|;\s*)session=/.test(req.headers.cookie || '')) return res.status(401).json({ error: 'Sign in first.' })
  items.delete(req.params.id)
  res.status(204).end()
})

app.use((err, req, res, next) => res.status(err.status || 500).json({ error: 'Something went wrong.' }))
app.listen(Number(process.env.PORT), '127.0.0.1')
