import { useEffect, useState } from 'react'
import { addRow, changeRow, newestFirst, openList, removeRow } from '../lib/forjaData.js'
import { site } from '../site.js'
import { useLocalStorage } from './useLocalStorage.js'

const newId = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

// The list: this browser's (localStorage) until a person is signed in where Forja serves the app, then theirs, kept
// with their account (src/lib/forjaData.js). `account` is {backend, user}: backend false where there is no sign-in.
export function useItems() {
  const [saved, setSaved] = useLocalStorage('items', [])
  const [account, setAccount] = useState({ backend: false, user: null })
  const [rows, setRows] = useState(null) // null: not signed in, the browser's list is shown
  const [problem, setProblem] = useState('')

  useEffect(() => {
    let current = true
    openList(`${site.storageKey}:items`).then((opened) => {
      if (!current) return
      setAccount(opened)
      setProblem(opened.problem)
      if (opened.items) {
        setSaved(opened.left)
        setRows(opened.items)
      }
    })
    return () => {
      current = false
    }
  }, [setSaved])

  const signedIn = rows !== null
  const items = signedIn ? rows : saved
  // A new or removed item is shown once Forja has kept the change; a refusal is said in words instead.
  const save = async (work) => {
    try {
      setProblem('')
      await work()
    } catch (error) {
      setProblem(error.message)
    }
  }

  const add = (text, date) => {
    const item = { id: newId(), text, date, done: false, createdAt: Date.now() }
    if (!signedIn) return setSaved((list) => [item, ...list])
    save(async () => {
      const row = await addRow(item)
      setRows((list) => newestFirst([row, ...list]))
    })
  }
  const toggle = (id) => {
    const flip = (list) => list.map((it) => (it.id === id ? { ...it, done: !it.done } : it))
    if (!signedIn) return setSaved(flip)
    const item = rows.find((it) => it.id === id)
    // Ticked at once, as the box is clicked; ticked back if Forja does not keep it.
    setRows(flip)
    save(async () => {
      try {
        await changeRow(id, { done: !item.done })
      } catch (error) {
        setRows(flip)
        throw error
      }
    })
  }
  const remove = (id) => {
    if (!signedIn) return setSaved((list) => list.filter((it) => it.id !== id))
    save(async () => {
      await removeRow(id)
      setRows((list) => list.filter((it) => it.id !== id))
    })
  }
  const clearDone = () => {
    if (!signedIn) return setSaved((list) => list.filter((it) => !it.done))
    save(async () => {
      for (const item of rows.filter((it) => it.done)) {
        await removeRow(item.id)
        setRows((list) => list.filter((it) => it.id !== item.id))
      }
    })
  }

  return { items, account, problem, add, toggle, remove, clearDone }
}
