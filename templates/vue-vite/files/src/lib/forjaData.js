// A person's items kept with their account, where Forja serves this app (its preview and its published address): who
// is signed in comes from /_forja/auth/me, and a signed-in person's items are rows of the app's `items` collection
// (/_forja/data/items), which .forja/data.json lets each person read, change and delete only for their own rows.
// Sign-in, sign-up and sign-out are Forja's own pages: this app never sees a password.
// Anywhere else (`vite preview`, a WebContainer, a plain static host) nothing answers there as Forja does, so the app
// keeps its items in this browser and offers no sign-in.

export const SIGN_IN_TEXT = 'Sign in to keep your list on every device'
export const SIGNED_IN_TEXT = 'Your list is kept with your account, on every device.'
export const SIGN_OUT_TEXT = 'Sign out'

const ITEMS = '/_forja/data/items'
const NOBODY = { backend: false, user: null }

const here = () => location.pathname + location.search
export const signInUrl = () => `/_forja/auth/sign-in?next=${encodeURIComponent(here())}`
export const signOutUrl = () => `/_forja/auth/sign-out?next=${encodeURIComponent(here())}`

// Who is signed in: {backend, user}. A missing /_forja/ (404), or a dev server's or static host's own page in its place
// (200, text/html), is no backend: no error, the browser keeps the list. `*/*` lets such a server answer with its page
// rather than a 404.
async function whoIsIn() {
  try {
    const answer = await fetch('/_forja/auth/me', {
      credentials: 'same-origin',
      headers: { Accept: 'application/json, */*;q=0.1' },
    })
    if (!answer.ok || !(answer.headers.get('content-type') || '').startsWith('application/json')) return NOBODY
    const said = await answer.json()
    if (typeof said?.signed_in !== 'boolean') return NOBODY
    return { backend: true, user: said.signed_in && said.user?.email ? said.user : null }
  } catch {
    return NOBODY
  }
}

// One call to the data API; a refusal throws an Error with Forja's sentence.
async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } }
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  const answer = await fetch(path, init)
  if (answer.status === 204) return null
  const said = await answer.json().catch(() => ({}))
  if (!answer.ok) throw new Error(said.detail || `Something went wrong with your list (the server answered ${answer.status}). Try again.`)
  return said
}

const toItem = (row) => ({ ...row.data, id: row.id })
export const newestFirst = (items) => [...items].sort((a, b) => (b.createdAt || 0) - (a.createdAt || 0))

export async function addRow(item) {
  const { id: _local, ...fields } = item
  return toItem(await call('POST', ITEMS, fields))
}
export const changeRow = async (id, fields) => toItem(await call('PATCH', `${ITEMS}/${encodeURIComponent(id)}`, fields))
export const removeRow = (id) => call('DELETE', `${ITEMS}/${encodeURIComponent(id)}`)

async function ownRows() {
  const rows = []
  let offset = 0
  // 100 a page; `mine` keeps an admin's list their own too (admins may read everyone's rows).
  for (let page = 0; page < 50 && offset !== null; page++) {
    const answer = await call('GET', `${ITEMS}?mine=1&limit=100&offset=${offset}`)
    rows.push(...answer.rows)
    offset = answer.next_offset ?? null
  }
  return rows.map(toItem)
}

function readSaved(key) {
  try {
    const saved = JSON.parse(localStorage.getItem(key) || '[]')
    return Array.isArray(saved) ? saved : []
  } catch {
    return []
  }
}

function writeSaved(key, items) {
  try {
    localStorage.setItem(key, JSON.stringify(items))
  } catch {
    // Private mode or a full disk: the items not moved yet stay in memory only.
  }
}

// The items this browser kept before the person signed in move into their account once: each leaves localStorage as
// soon as it is a row, so a reload (or another tab) never moves it twice.
async function moveIn(key) {
  let left = readSaved(key)
  for (const item of [...left].reverse()) {
    await addRow(item)
    left = left.filter((other) => other !== item)
    writeSaved(key, left)
  }
  return left
}

async function open(key) {
  const account = await whoIsIn()
  if (!account.user) return { ...account, items: null, left: readSaved(key), problem: '' }
  let problem = ''
  try {
    await moveIn(key)
  } catch (error) {
    problem = `Some items stayed in this browser: ${error.message}`
  }
  try {
    return { ...account, items: newestFirst(await ownRows()), left: readSaved(key), problem }
  } catch (error) {
    return { ...account, items: [], left: readSaved(key), problem: error.message }
  }
}

let opening = null
// Once a page load (a second call, such as React's development double effect, gets the same answer): who is signed
// in, and for a signed-in person their items, newest first, with `left` the items still in this browser under `key`.
export function openList(key) {
  opening ??= open(key)
  return opening
}
