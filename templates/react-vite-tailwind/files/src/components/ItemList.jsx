const formatDate = (iso) =>
  new Date(`${iso}T00:00:00`).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' })

export default function ItemList({ items, emptyText, onToggle, onRemove }) {
  if (items.length === 0) {
    return (
      <div className="mt-5 rounded-xl border border-dashed border-slate-300 px-4 py-10 text-center text-slate-500 dark:border-slate-700 dark:text-slate-400">
        {emptyText}
      </div>
    )
  }
  return (
    <ul className="mt-5 divide-y divide-slate-100 dark:divide-slate-800">
      {items.map((item) => (
        <li key={item.id} className="group flex items-center gap-3 py-3">
          <input
            type="checkbox"
            checked={item.done}
            onChange={() => onToggle(item.id)}
            aria-label={`Mark "${item.text}" as ${item.done ? 'not done' : 'done'}`}
            className="size-5 shrink-0 cursor-pointer accent-accent"
          />
          <div className="min-w-0 flex-1">
            <p className={`break-words ${item.done ? 'text-slate-400 line-through dark:text-slate-500' : ''}`}>{item.text}</p>
            {item.date && (
              <p className="mt-0.5 text-xs font-medium text-accent">{formatDate(item.date)}</p>
            )}
          </div>
          <button
            onClick={() => onRemove(item.id)}
            aria-label={`Remove "${item.text}"`}
            className="rounded-md p-1.5 text-slate-400 opacity-100 transition hover:bg-red-50 hover:text-red-600 sm:opacity-0 sm:group-hover:opacity-100 dark:hover:bg-red-950"
          >
            <svg viewBox="0 0 24 24" className="size-4" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round">
              <path d="M6 6l12 12M18 6L6 18" />
            </svg>
          </button>
        </li>
      ))}
    </ul>
  )
}
