// The page's behaviour: a small client for the JSON API under /api, plus the theme toggle.
const THEME_KEY = [[ (slug ~ ':theme')|tojson ]]

const $ = (id) => document.getElementById(id)

async function api(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  })
  if (!res.ok) {
    const data = await res.json().catch(() => ({}))
    // FastAPI answers {"detail": "..."}, or a list of problems when the request body is invalid.
    const detail = Array.isArray(data.detail) ? data.detail.map((d) => d.msg).join('; ') : data.detail
    throw new Error(detail || `${method} ${url} failed (${res.status})`)
  }
  return res.status === 204 ? null : res.json()
}

function showError(err) {
  $('error').textContent = err ? err.message : ''
  $('error').hidden = !err
}

function render(items) {
  const list = $('items')
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement('li')
      li.className = item.done ? 'done' : ''
      const box = document.createElement('input')
      box.type = 'checkbox'
      box.checked = item.done
      box.setAttribute('aria-label', `Mark ${item.text} as ${item.done ? 'not done' : 'done'}`)
      box.addEventListener('change', () => run(() => api('PATCH', `/api/items/${item.id}`, { done: box.checked })))
      const text = document.createElement('span')
      text.textContent = item.text
      const remove = document.createElement('button')
      remove.className = 'remove'
      remove.textContent = '✕'
      remove.setAttribute('aria-label', `Remove ${item.text}`)
      remove.addEventListener('click', () => run(() => api('DELETE', `/api/items/${item.id}`)))
      li.append(box, text, remove)
      return li
    }),
  )
  $('count').textContent = items.length
  $('empty').hidden = items.length > 0
}

// Do one change, then reload the list from the server so the page shows what is really stored.
async function run(change) {
  try {
    if (change) await change()
    render(await api('GET', '/api/items'))
    showError(null)
  } catch (err) {
    showError(err)
  }
}

$('add-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const input = $('new-item')
  const text = input.value.trim()
  if (!text) return
  run(async () => {
    await api('POST', '/api/items', { text })
    input.value = ''
  })
})

$('theme-toggle').addEventListener('click', () => {
  const dark = document.documentElement.classList.toggle('dark')
  try {
    localStorage.setItem(THEME_KEY, dark ? 'dark' : 'light')
  } catch {
    // Not saved; the toggle still works for this visit.
  }
})

$('year').textContent = new Date().getFullYear()
for (const el of document.querySelectorAll('.origin')) el.textContent = location.origin
run()
