// A missing item makes the route throw, and Express's default error page (outside production) shows the stack.
import express from 'express'

const app = express()
const items = new Map([['1', { text: 'Bread' }]])

app.use((req, res, next) => {
  res.set('X-Content-Type-Options', 'nosniff')
  res.set('Content-Security-Policy', "default-src 'self'")
  next()
})

app.get('/', (req, res) => res.type('html').send('<h1>Shopping list</h1>'))

app.get('/api/items/:id', (req, res) => {
  res.json({ text: items.get(req.params.id).text.toUpperCase() })
})

app.listen(Number(process.env.PORT), '127.0.0.1')
