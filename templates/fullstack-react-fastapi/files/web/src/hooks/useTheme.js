import { useEffect, useState } from 'react'
import { site } from '../site.js'

// Light or dark, starting from the class index.html put on <html>, remembered once toggled.
export function useTheme() {
  const [dark, setDark] = useState(() => document.documentElement.classList.contains('dark'))
  useEffect(() => {
    document.documentElement.classList.toggle('dark', dark)
  }, [dark])
  const toggle = () => {
    setDark((d) => {
      try {
        localStorage.setItem(`${site.storageKey}:theme`, d ? 'light' : 'dark')
      } catch {
        // Not saved; the toggle still works for this visit.
      }
      return !d
    })
  }
  return { dark, toggle }
}
