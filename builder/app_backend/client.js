// Forja's client for an app's own people and data, served at /_forja/client.js on the app's own address.
// <script src="/_forja/client.js"></script> gives `forja.auth` and `forja.data(collection)`; every call goes to this
// origin only, with the app's session cookie, and a refusal rejects with an Error whose message is Forja's sentence
// and whose `status` is the HTTP status (401: sign in first; 403: the app's rules refuse; 404: no such row).
(function () {
  'use strict'

  async function call (method, path, body) {
    const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } }
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    const response = await fetch(path, init)
    if (response.status === 204) return null
    const answer = await response.json().catch(() => ({}))
    if (!response.ok) {
      const error = new Error(answer.detail || `The app's data answered ${response.status}.`)
      error.status = response.status
      throw error
    }
    return answer
  }

  function here () {
    return location.pathname + location.search
  }

  const auth = Object.freeze({
    // The signed-in user ({id, email, role}) or null.
    async me () {
      return (await call('GET', '/_forja/auth/me')).user
    },
    signInUrl (next) {
      return '/_forja/auth/sign-in?next=' + encodeURIComponent(next || here())
    },
    signUpUrl (next) {
      return '/_forja/auth/sign-up?next=' + encodeURIComponent(next || here())
    },
    signOutUrl (next) {
      return '/_forja/auth/sign-out?next=' + encodeURIComponent(next || here())
    }
  })

  function data (collection) {
    const at = '/_forja/data/' + encodeURIComponent(collection)
    const one = (id) => at + '/' + encodeURIComponent(id)
    return Object.freeze({
      // {rows: [{id, owner, created_at, updated_at, data}], next_offset}: newest first. `query` holds fields to
      // equal, and `owner`, `mine: true`, `limit` (at most 100), `offset`.
      list (query = {}) {
        const params = new URLSearchParams()
        for (const [key, value] of Object.entries(query)) {
          if (value !== undefined && value !== null && value !== false) params.append(key, value === true ? '1' : String(value))
        }
        const search = params.toString()
        return call('GET', search ? at + '?' + search : at)
      },
      get: (id) => call('GET', one(id)),
      create: (object) => call('POST', at, object),
      // The fields given replace the row's; the others stay.
      update: (id, object) => call('PATCH', one(id), object),
      // The object given becomes the row's whole data.
      replace: (id, object) => call('PUT', one(id), object),
      remove: (id) => call('DELETE', one(id)),
      // Live changes to the rows this visitor may read, by anyone: `on.create(row)`, `on.update(row)`,
      // `on.delete({id})`; `on.open()` once every later change will be heard, `on.error()` once the stream is refused
      // (sign in first, or the rules say no). The browser reconnects by itself and misses nothing it was allowed to
      // hear. Returns a function that stops it.
      watch (on = {}) {
        const source = new EventSource(at + '/changes')
        source.onopen = () => { if (on.open) on.open() }
        for (const kind of ['create', 'update', 'delete']) {
          source.addEventListener(kind, (message) => { if (on[kind]) on[kind](JSON.parse(message.data)) })
        }
        source.onerror = () => { if (source.readyState === EventSource.CLOSED && on.error) on.error() }
        return () => source.close()
      }
    })
  }

  window.forja = Object.freeze({ auth, data })
})()
