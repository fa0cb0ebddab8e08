import { Router } from 'express'
import { createItem, deleteItem, listItems, updateItem } from '../lib/store.js'

const router = Router()

function cleanText(value) {
  if (typeof value !== 'string' || !value.trim()) return null
  return value.trim().slice(0, 200)
}

// GET /api/items -> every item, newest first
router.get('/', async (req, res) => {
  res.json(await listItems())
})

// POST /api/items {"text": "..."} -> the new item
router.post('/', async (req, res) => {
  const text = cleanText(req.body?.text)
  if (!text) return res.status(400).json({ error: 'Send {"text": "..."} with some text.' })
  res.status(201).json(await createItem(text))
})

// PATCH /api/items/:id {"text"?: "...", "done"?: true} -> the updated item
router.patch('/:id', async (req, res) => {
  const changes = {}
  if (req.body?.text !== undefined) {
    changes.text = cleanText(req.body.text)
    if (!changes.text) return res.status(400).json({ error: '"text" must be non-empty text.' })
  }
  if (req.body?.done !== undefined) {
    if (typeof req.body.done !== 'boolean') return res.status(400).json({ error: '"done" must be true or false.' })
    changes.done = req.body.done
  }
  const item = await updateItem(req.params.id, changes)
  if (!item) return res.status(404).json({ error: 'Not found.' })
  res.json(item)
})

// DELETE /api/items/:id -> 204
router.delete('/:id', async (req, res) => {
  if (!(await deleteItem(req.params.id))) return res.status(404).json({ error: 'Not found.' })
  res.status(204).end()
})

export default router
