// The one place the front end talks to the backend. Paths are relative: the Vite dev server
// forwards /api to FastAPI, so there are no CORS settings to keep in sync.
async function request(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  })
  if (!res.ok) {
    const data = await res.json().catch(() => ({}))
    const detail = Array.isArray(data.detail) ? data.detail.map((d) => d.msg).join('; ') : data.detail
    throw new Error(detail || `The server answered ${res.status} to ${method} ${path}.`)
  }
  return res.status === 204 ? null : res.json()
}

export const api = {
  listItems: () => request('GET', '/api/items'),
  createItem: (item) => request('POST', '/api/items', item),
  updateItem: (id, changes) => request('PATCH', `/api/items/${id}`, changes),
  deleteItem: (id) => request('DELETE', `/api/items/${id}`),
}
