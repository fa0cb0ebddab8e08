import { site } from '../site.js'

// Reactive state that survives a reload: kept in localStorage under this app's prefix.
// Use it as `const items = stored('items', [])` and read or assign `items.value`.
export function stored(name, initialValue) {
  const key = `${site.storageKey}:${name}`
  let start = initialValue
  try {
    const saved = localStorage.getItem(key)
    if (saved !== null) start = JSON.parse(saved)
  } catch {
    // Unreadable or blocked storage: start fresh.
  }
  let value = $state(start)
  $effect.root(() => {
    $effect(() => {
      try {
        localStorage.setItem(key, JSON.stringify(value))
      } catch {
        // Private mode or a full disk: keep working in memory.
      }
    })
  })
  return {
    get value() {
      return value
    },
    set value(next) {
      value = next
    },
  }
}
