import { ref, watch } from 'vue'
import { site } from '../site.js'

// A ref that survives a reload: kept in localStorage under this app's prefix.
export function useStoredRef(name, initialValue) {
  const key = `${site.storageKey}:${name}`
  let start = initialValue
  try {
    const saved = localStorage.getItem(key)
    if (saved !== null) start = JSON.parse(saved)
  } catch {
    // Unreadable or blocked storage: start fresh.
  }
  const value = ref(start)
  watch(
    value,
    (v) => {
      try {
        localStorage.setItem(key, JSON.stringify(v))
      } catch {
        // Private mode or a full disk: keep working in memory.
      }
    },
    { deep: true },
  )
  return value
}
