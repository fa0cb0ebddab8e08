import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

// Items are kept in one JSON file, so they survive restarts without a database server.
// Swap this module for a real database when the app outgrows it; the routes only use these functions.
// In Forja, DATA_DIR is the app's own folder that outlives every new version; on its own, storage/ beside the code.
const folder = process.env.DATA_DIR || path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'storage')
const file = process.env.DATA_FILE || path.join(folder, 'items.json')

let items = null
let saving = Promise.resolve()

async function load() {
  if (items === null) {
    try {
      items = JSON.parse(await readFile(file, 'utf8'))
    } catch (err) {
      if (err.code !== 'ENOENT') throw err
      items = []
    }
  }
  return items
}

// Writes go one after another, through a temp file, so a crash never leaves half a file.
function save() {
  saving = saving.then(async () => {
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(`${file}.tmp`, JSON.stringify(items, null, 2))
    await rename(`${file}.tmp`, file)
  })
  return saving
}

export async function listItems() {
  return [...(await load())].sort((a, b) => b.createdAt - a.createdAt)
}

export async function createItem(text) {
  const item = { id: randomUUID(), text, done: false, createdAt: Date.now() }
  ;(await load()).push(item)
  await save()
  return item
}

export async function updateItem(id, changes) {
  const item = (await load()).find((it) => it.id === id)
  if (!item) return null
  Object.assign(item, changes)
  await save()
  return item
}

export async function deleteItem(id) {
  const list = await load()
  const index = list.findIndex((it) => it.id === id)
  if (index === -1) return false
  list.splice(index, 1)
  await save()
  return true
}
