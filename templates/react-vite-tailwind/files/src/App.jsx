import { useMemo, useState } from 'react'
import Account from './components/Account.jsx'
import Features from './components/Features.jsx'
import Header from './components/Header.jsx'
import ItemForm from './components/ItemForm.jsx'
import ItemList from './components/ItemList.jsx'
import { useItems } from './hooks/useItems.js'
import { site } from './site.js'

const FILTERS = [
  { id: 'all', label: 'All' },
  { id: 'open', label: 'Open' },
  { id: 'done', label: 'Done' },
]

export default function App() {
  const { items, account, problem, add, toggle, remove, clearDone } = useItems()
  const [filter, setFilter] = useState('all')
  const [query, setQuery] = useState('')

  const doneCount = items.filter((it) => it.done).length
  const progress = items.length ? Math.round((doneCount / items.length) * 100) : 0

  const visible = useMemo(() => {
    const q = query.trim().toLowerCase()
    return items.filter(
      (it) =>
        (filter === 'all' || (filter === 'done') === it.done) && (!q || it.text.toLowerCase().includes(q)),
    )
  }, [items, filter, query])

  const emptyText = items.length
    ? `No ${site.itemNounPlural} match.`
    : `No ${site.itemNounPlural} yet. Add your first ${site.itemNoun} above.`

  return (
    <div className="flex min-h-screen flex-col">
      <Header />

      <main className="mx-auto w-full max-w-3xl flex-1 px-4 py-10 sm:px-6">
        <section className="mb-8">
          <p className="text-sm font-semibold uppercase tracking-wider text-accent">{site.title}</p>
          <h1 className="mt-2 text-3xl font-bold tracking-tight sm:text-4xl">Your {site.itemNounPlural}</h1>
          <p className="mt-2 text-slate-600 dark:text-slate-400">{site.tagline}</p>
          <Account account={account} />

          <div className="mt-6 grid grid-cols-3 gap-3">
            <Stat label="Total" value={items.length} />
            <Stat label="Open" value={items.length - doneCount} />
            <Stat label="Done" value={doneCount} />
          </div>
          <div className="mt-3 h-2 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-800" aria-hidden="true">
            <div className="h-full rounded-full bg-accent transition-all duration-500" style={{ width: `${progress}%` }} />
          </div>
        </section>

        <section className="rounded-2xl border border-slate-200 bg-white p-4 shadow-sm sm:p-6 dark:border-slate-800 dark:bg-slate-900">
          <ItemForm noun={site.itemNoun} onAdd={add} />
          {problem && (
            <p role="alert" className="mt-3 rounded-lg bg-red-50 px-3 py-2 text-sm text-red-700 dark:bg-red-950 dark:text-red-300">
              {problem}
            </p>
          )}

          <div className="mt-5 flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
            <input
              type="search"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              placeholder={`Search ${site.itemNounPlural}…`}
              aria-label={`Search ${site.itemNounPlural}`}
              className="w-full rounded-lg border border-slate-200 bg-slate-50 px-3 py-2 text-sm outline-none focus:border-accent focus:ring-2 focus:ring-accent/30 sm:max-w-xs dark:border-slate-700 dark:bg-slate-800"
            />
            <div className="flex rounded-lg bg-slate-100 p-1 text-sm dark:bg-slate-800" role="tablist">
              {FILTERS.map((f) => (
                <button
                  key={f.id}
                  role="tab"
                  aria-selected={filter === f.id}
                  onClick={() => setFilter(f.id)}
                  className={`rounded-md px-3 py-1.5 font-medium transition ${
                    filter === f.id
                      ? 'bg-white text-slate-900 shadow-sm dark:bg-slate-950 dark:text-white'
                      : 'text-slate-500 hover:text-slate-900 dark:text-slate-400 dark:hover:text-white'
                  }`}
                >
                  {f.label}
                </button>
              ))}
            </div>
          </div>

          <ItemList
            items={visible}
            emptyText={emptyText}
            onToggle={toggle}
            onRemove={remove}
          />

          {doneCount > 0 && (
            <div className="mt-4 flex justify-end">
              <button
                onClick={clearDone}
                className="text-sm font-medium text-slate-500 hover:text-red-600 dark:text-slate-400 dark:hover:text-red-400"
              >
                Clear {doneCount} done
              </button>
            </div>
          )}
        </section>

        <Features />
      </main>

      <footer className="border-t border-slate-200 py-6 text-center text-sm text-slate-500 dark:border-slate-800 dark:text-slate-400">
        © {new Date().getFullYear()} {site.title}
      </footer>
    </div>
  )
}

function Stat({ label, value }) {
  return (
    <div className="rounded-xl border border-slate-200 bg-white px-4 py-3 dark:border-slate-800 dark:bg-slate-900">
      <div className="text-2xl font-bold">{value}</div>
      <div className="text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400">{label}</div>
    </div>
  )
}
