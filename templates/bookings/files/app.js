// The booking page: people sign in on Forja's own pages (forja.auth) and their bookings are rows of the app's
// "bookings" collection (forja.data). Who may see and change which row is in .forja/data.json: each customer reads,
// changes and cancels only their own; the app's admins (its owner, and whoever they make admin) see all of them.
// Which times are taken is the collection "taken": rows of only {day, time}, which every signed-in person reads, so
// a customer sees a time someone else booked as taken without learning who booked it.
const THEME_KEY = [[ (slug ~ ':theme')|tojson ]]
const NOUN = [[ item_noun|tojson ]]
const NOUNS = [[ item_noun_plural|tojson ]]
const OPEN_DAYS = [1, 2, 3, 4, 5, 6] // Monday to Saturday (0 is Sunday)
const FIRST_SLOT = 9 * 60
const LAST_SLOT = 17 * 60
const SLOT_MINUTES = 30
const DAYS_AHEAD = 14

const $ = (id) => document.getElementById(id)
const state = { me: null, rows: [], taken: new Set() }

document.getElementById('theme-toggle').addEventListener('click', () => {
  const dark = document.documentElement.classList.toggle('dark')
  try {
    localStorage.setItem(THEME_KEY, dark ? 'dark' : 'light')
  } catch {
    // Not saved; the toggle still works for this visit.
  }
})
$('year').textContent = new Date().getFullYear()

const pad = (n) => String(n).padStart(2, '0')
const isoDay = (date) => `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
const dayLabel = (iso) =>
  new Date(iso + 'T12:00').toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' })

function openDays () {
  const days = []
  const date = new Date()
  for (let i = 0; i < DAYS_AHEAD; i++, date.setDate(date.getDate() + 1)) {
    if (OPEN_DAYS.includes(date.getDay())) days.push(isoDay(date))
  }
  return days
}

function times (day) {
  const now = new Date()
  const today = day === isoDay(now)
  const slots = []
  for (let m = FIRST_SLOT; m < LAST_SLOT; m += SLOT_MINUTES) {
    if (!today || m > now.getHours() * 60 + now.getMinutes()) slots.push(`${pad(Math.floor(m / 60))}:${pad(m % 60)}`)
  }
  return slots
}

function showDays () {
  const select = $('day')
  for (const day of openDays()) select.add(new Option(dayLabel(day), day))
  // Late on an open day no time is left: start on the next day that has one.
  const first = [...select.options].find((option) => times(option.value).length)
  if (first) select.value = first.value
  select.addEventListener('change', async () => {
    try {
      await loadTaken()
    } catch (error) {
      say(error.message)
    }
    showTimes()
  })
  showTimes()
}

// The times of `day` that anyone has booked (rows of "taken" say only the day and the time).
async function takenTimes (day) {
  const answer = await forja.data('taken').list({ day, limit: 100 })
  return new Set(answer.rows.map((row) => row.data.time))
}

async function loadTaken () {
  state.taken = state.me ? await takenTimes($('day').value) : new Set()
}

function showTimes () {
  const day = $('day').value
  const taken = new Set(state.rows.filter((row) => row.data.day === day).map((row) => row.data.time))
  for (const time of state.taken) taken.add(time)
  const grid = $('times')
  grid.replaceChildren()
  for (const time of times(day)) {
    const label = document.createElement('label')
    label.className = 'time'
    const radio = Object.assign(document.createElement('input'), { type: 'radio', name: 'time', value: time })
    radio.disabled = taken.has(time)
    label.append(radio, Object.assign(document.createElement('span'), { className: 'clock', textContent: time }))
    if (radio.disabled) label.append(Object.assign(document.createElement('span'), { className: 'taken', textContent: 'taken' }))
    grid.append(label)
  }
  if (!grid.children.length) grid.textContent = 'No times left on this day.'
}

function showAccount () {
  const account = $('account')
  account.replaceChildren()
  const link = (text, href, primary) => Object.assign(document.createElement('a'), { textContent: text, href, className: primary ? 'btn small' : 'nav-link' })
  if (!window.forja) return
  if (!state.me) {
    account.append(link('Sign in', forja.auth.signInUrl()), link('Make an account', forja.auth.signUpUrl(), true))
    return
  }
  const who = Object.assign(document.createElement('span'), { className: 'who-am-i' })
  who.append(Object.assign(document.createElement('span'), { className: 'address', textContent: state.me.email }))
  if (state.me.role === 'admin') who.append(Object.assign(document.createElement('span'), { className: 'pill', textContent: 'Admin' }))
  account.append(who, link('Sign out', forja.auth.signOutUrl()))
}

async function load () {
  const rows = []
  let offset = 0
  // Newest first, 100 at a time; an admin sees everyone's.
  for (let page = 0; page < 20 && offset !== null; page++) {
    const answer = await forja.data('bookings').list({ limit: 100, offset })
    rows.push(...answer.rows)
    offset = answer.next_offset ?? null
  }
  state.rows = rows.sort((a, b) => (a.data.day + a.data.time).localeCompare(b.data.day + b.data.time))
}

function showList () {
  const admin = state.me?.role === 'admin'
  $('panels').classList.toggle('admin', admin)
  const list = $('bookings')
  list.replaceChildren()
  $('list-heading').textContent = admin ? `All ${NOUNS}` : `Your ${NOUNS}`
  $('list-count').textContent = state.me ? String(state.rows.filter((row) => !row.data.done).length) + ' open' : ''
  if (!window.forja) {
    $('list-lead').textContent = 'Sign-in and booking work where Forja serves this app\u2019s accounts: publish it to try them.'
    return
  }
  if (!state.me) {
    $('list-lead').textContent = `Sign in to book and to see your ${NOUNS}.`
    return
  }
  $('list-lead').textContent = admin
    ? `Everyone\u2019s ${NOUNS}, soonest first. Mark each one done when it is over.`
    : `Your ${NOUNS}, soonest first. Cancel one you cannot make.`
  if (!state.rows.length) {
    list.append(Object.assign(document.createElement('li'), { className: 'empty', textContent: `No ${NOUNS} yet.` }))
    return
  }
  const clashes = new Set()
  const seen = new Set()
  for (const row of state.rows.filter((r) => !r.data.done)) {
    const key = row.data.day + row.data.time
    if (seen.has(key)) clashes.add(key)
    seen.add(key)
  }
  for (const row of state.rows) list.append(bookingRow(row, admin, clashes.has(row.data.day + row.data.time) && !row.data.done))
}

function bookingRow (row, admin, clash) {
  const item = $('booking-row').content.firstElementChild.cloneNode(true)
  const text = (selector, value) => { item.querySelector(selector).textContent = value }
  item.dataset.id = row.id
  item.classList.toggle('is-done', Boolean(row.data.done))
  text('.day', dayLabel(row.data.day))
  text('.time', row.data.time)
  text('.name', row.data.name)
  text('.email', admin ? row.data.email || '' : '')
  text('.note', row.data.note || '')
  text('.state', row.data.done ? 'Done' : clash ? 'Same time as another' : 'Booked')
  item.querySelector('.state').className = 'state ' + (row.data.done ? 'state-done' : clash ? 'state-clash' : 'state-open')
  const done = item.querySelector('.done-button')
  const cancel = item.querySelector('.cancel-button')
  done.hidden = !admin || Boolean(row.data.done)
  cancel.hidden = Boolean(row.data.done) || admin
  done.setAttribute('aria-label', `Mark done: ${row.data.name}, ${dayLabel(row.data.day)} ${row.data.time}`)
  cancel.setAttribute('aria-label', `Cancel ${NOUN} on ${dayLabel(row.data.day)} at ${row.data.time}`)
  done.addEventListener('click', () => change(() => forja.data('bookings').update(row.id, { done: true })))
  cancel.addEventListener('click', () => change(() => cancelBooking(row)))
  return item
}

// A cancelled time is free again: its customer removes their own "taken" row with the booking. A booking marked
// done keeps its time taken (it happened).
async function cancelBooking (row) {
  await forja.data('bookings').remove(row.id)
  const { day, time } = row.data
  const claim = (await forja.data('taken').list({ day, time, mine: true })).rows[0]
  if (claim) await forja.data('taken').remove(claim.id)
}

async function change (action) {
  try {
    await action()
    await refresh()
  } catch (error) {
    say(error.message)
  }
}

function say (text, link) {
  const note = $('book-note')
  note.replaceChildren(text)
  if (link) note.append(' ', Object.assign(document.createElement('a'), { href: link.href, textContent: link.text }))
}

async function refresh () {
  if (state.me) await Promise.all([load(), loadTaken()])
  showList()
  showTimes()
}

$('book-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const formElement = event.currentTarget
  const form = new FormData(formElement)
  const time = form.get('time')
  const name = String(form.get('name') || '').trim()
  if (!time) return say('Pick a time.')
  if (!name) return say('Write your name, so we know who is coming.')
  if (!window.forja) return say('Sign-in and booking work where Forja serves this app\u2019s accounts: publish it to try them.')
  if (!state.me) return say('Sign in first to book.', { href: forja.auth.signInUrl(), text: 'Sign in' })
  const day = String(form.get('day'))
  try {
    // Someone may have booked this time since the page listed the taken ones: ask again just before booking.
    if ((await takenTimes(day)).has(time)) {
      await refresh()
      return say(`Sorry, ${time} on ${dayLabel(day)} was just taken by someone else. Please pick another time.`)
    }
    const claim = await forja.data('taken').create({ day, time })
    try {
      await forja.data('bookings').create({ day, time, name, note: String(form.get('note') || '').trim(), email: state.me.email, done: false })
    } catch (error) {
      // No booking was made, so the time is not taken either.
      await forja.data('taken').remove(claim.id)
      throw error
    }
    formElement.reset()
    $('day').value = day
    $('name').value = name
    say(`Booked: ${dayLabel(day)} at ${time}.`)
    await refresh()
  } catch (error) {
    say(error.message)
  }
})

async function start () {
  showDays()
  if (window.forja) {
    try {
      state.me = await forja.auth.me()
      await refresh()
    } catch (error) {
      say(error.message)
    }
  }
  showAccount()
  showList()
}

start()
