// The only script the pages need: the light/dark toggle, remembered in localStorage.
document.getElementById('theme-toggle').addEventListener('click', () => {
  const root = document.documentElement
  const dark = root.classList.toggle('dark')
  try {
    localStorage.setItem(root.dataset.themeKey, dark ? 'dark' : 'light')
  } catch {
    // Not saved; the toggle still works for this visit.
  }
})
