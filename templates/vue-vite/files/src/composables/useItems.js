import { computed, ref } from 'vue'
import { addRow, changeRow, newestFirst, openList, removeRow } from '../lib/forjaData.js'
import { site } from '../site.js'
import { useStoredRef } from './useStoredRef.js'

const newId = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

// The list: this browser's (localStorage) until a person is signed in where Forja serves the app, then theirs, kept
// with their account (src/lib/forjaData.js). `account` is {backend, user}: backend false where there is no sign-in.
export function useItems() {
  const saved = useStoredRef('items', [])
  const rows = ref(null) // null: not signed in, the browser's list is shown
  const items = computed(() => rows.value ?? saved.value)
  const account = ref({ backend: false, user: null })
  const problem = ref('')

  openList(`${site.storageKey}:items`).then((opened) => {
    account.value = opened
    problem.value = opened.problem
    if (opened.items) {
      saved.value = opened.left
      rows.value = opened.items
    }
  })

  // A new or removed item is shown once Forja has kept the change; a refusal is said in words instead.
  async function save(work) {
    try {
      problem.value = ''
      await work()
    } catch (error) {
      problem.value = error.message
    }
  }

  function add(text) {
    const item = { id: newId(), text, done: false, createdAt: Date.now() }
    if (!rows.value) return saved.value.unshift(item)
    save(async () => {
      const row = await addRow(item)
      rows.value = newestFirst([row, ...rows.value])
    })
  }
  function toggle(id) {
    const item = items.value.find((it) => it.id === id)
    if (!item) return
    // Ticked at once, as the box is clicked; ticked back if Forja does not keep it.
    item.done = !item.done
    if (!rows.value) return
    save(async () => {
      try {
        await changeRow(id, { done: item.done })
      } catch (error) {
        item.done = !item.done
        throw error
      }
    })
  }
  function remove(id) {
    if (!rows.value) return (saved.value = saved.value.filter((it) => it.id !== id))
    save(async () => {
      await removeRow(id)
      rows.value = rows.value.filter((it) => it.id !== id)
    })
  }
  function clearDone() {
    if (!rows.value) return (saved.value = saved.value.filter((it) => !it.done))
    save(async () => {
      for (const item of rows.value.filter((it) => it.done)) {
        await removeRow(item.id)
        rows.value = rows.value.filter((it) => it.id !== item.id)
      }
    })
  }

  return { items, account, problem, add, toggle, remove, clearDone }
}
