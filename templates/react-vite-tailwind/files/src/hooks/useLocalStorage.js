import { useEffect, useState } from 'react'
import { site } from '../site.js'

// useState that survives a reload: the value is kept in localStorage under this app's prefix.
export function useLocalStorage(name, initialValue) {
  const key = `${site.storageKey}:${name}`
  const [value, setValue] = useState(() => {
    try {
      const saved = localStorage.getItem(key)
      return saved === null ? initialValue : JSON.parse(saved)
    } catch {
      return initialValue
    }
  })
  useEffect(() => {
    try {
      localStorage.setItem(key, JSON.stringify(value))
    } catch {
      // Private mode or a full disk: keep working in memory.
    }
  }, [key, value])
  return [value, setValue]
}
