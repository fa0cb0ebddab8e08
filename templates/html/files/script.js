// Small touches for the page: theme toggle, "open now" badge, contact form, footer year.
const THEME_KEY = [[ (slug ~ ':theme')|tojson ]]

document.getElementById('theme-toggle').addEventListener('click', () => {
  const dark = document.documentElement.classList.toggle('dark')
  try {
    localStorage.setItem(THEME_KEY, dark ? 'dark' : 'light')
  } catch {
    // Not saved; the toggle still works for this visit.
  }
})

document.getElementById('year').textContent = new Date().getFullYear()

// Highlight today's opening hours and say whether we are open right now.
;(function showOpeningHours() {
  const now = new Date()
  const minutes = now.getHours() * 60 + now.getMinutes()
  const toMinutes = (hhmm) => {
    const [h, m] = hhmm.split(':').map(Number)
    return h * 60 + m
  }
  const row = [...document.querySelectorAll('.hours tr[data-days]')].find((tr) =>
    tr.dataset.days.split(',').map(Number).includes(now.getDay()),
  )
  const status = document.getElementById('open-status')
  if (!row) return
  row.classList.add('today')
  const open = row.dataset.open && minutes >= toMinutes(row.dataset.open) && minutes < toMinutes(row.dataset.close)
  status.textContent = open ? 'Open now' : 'Closed now'
  status.classList.toggle('closed', !open)
  status.hidden = false
})()

// The contact form opens the visitor's email app with the message filled in; no server needed.
document.getElementById('contact-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const form = event.currentTarget
  const data = new FormData(form)
  const subject = `Message from ${data.get('name')}`
  const body = `${data.get('message')}\n\n${data.get('name')} <${data.get('email')}>`
  window.location.href = `mailto:${form.dataset.email}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`
  document.getElementById('form-note').textContent = 'Your email app should open with the message ready to send.'
})
