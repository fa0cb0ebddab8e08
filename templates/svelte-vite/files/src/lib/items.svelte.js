import { addRow, changeRow, newestFirst, openList, removeRow } from './forjaData.js'
import { stored } from './stored.svelte.js'
import { site } from '../site.js'

const newId = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

// The list: this browser's (localStorage) until a person is signed in where Forja serves the app, then theirs, kept
// with their account (./forjaData.js). `account` is {backend, user}: backend false where there is no sign-in.
// Use it as `const list = items()` and read `list.value`, `list.account`, `list.problem`.
export function items() {
  const saved = stored('items', [])
  let rows = $state(null) // null: not signed in, the browser's list is shown
  let account = $state({ backend: false, user: null })
  let problem = $state('')

  openList(`${site.storageKey}:items`).then((opened) => {
    account = opened
    problem = opened.problem
    if (opened.items) {
      saved.value = opened.left
      rows = opened.items
    }
  })

  // A new or removed item is shown once Forja has kept the change; a refusal is said in words instead.
  async function save(work) {
    try {
      problem = ''
      await work()
    } catch (error) {
      problem = error.message
    }
  }

  return {
    get value() {
      return rows ?? saved.value
    },
    get account() {
      return account
    },
    get problem() {
      return problem
    },
    add(text) {
      const item = { id: newId(), text, done: false, createdAt: Date.now() }
      if (!rows) return saved.value.unshift(item)
      save(async () => {
        const row = await addRow(item)
        rows = newestFirst([row, ...rows])
      })
    },
    toggle(id) {
      const item = (rows ?? saved.value).find((it) => it.id === id)
      if (!item) return
      // Ticked at once, as the box is clicked; ticked back if Forja does not keep it.
      item.done = !item.done
      if (!rows) return
      save(async () => {
        try {
          await changeRow(id, { done: item.done })
        } catch (error) {
          item.done = !item.done
          throw error
        }
      })
    },
    remove(id) {
      if (!rows) return (saved.value = saved.value.filter((it) => it.id !== id))
      save(async () => {
        await removeRow(id)
        rows = rows.filter((it) => it.id !== id)
      })
    },
    clearDone() {
      if (!rows) return (saved.value = saved.value.filter((it) => !it.done))
      save(async () => {
        for (const item of rows.filter((it) => it.done)) {
          await removeRow(item.id)
          rows = rows.filter((it) => it.id !== item.id)
        }
      })
    },
  }
}
