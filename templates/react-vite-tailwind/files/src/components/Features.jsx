import { site } from '../site.js'

export default function Features() {
  if (!site.features.length) return null
  return (
    <section className="mt-12">
      <h2 className="text-xl font-bold tracking-tight">What you can do</h2>
      <div className="mt-4 grid gap-4 sm:grid-cols-2">
        {site.features.map((feature) => (
          <div
            key={feature}
            className="flex gap-3 rounded-2xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900"
          >
            <span className="grid size-8 shrink-0 place-items-center rounded-lg bg-accent/15 text-accent">
              <svg viewBox="0 0 24 24" className="size-4" fill="none" stroke="currentColor" strokeWidth="3" strokeLinecap="round">
                <path d="M5 12l5 5L20 7" />
              </svg>
            </span>
            <p className="text-sm leading-relaxed text-slate-700 dark:text-slate-300">{feature}</p>
          </div>
        ))}
      </div>
    </section>
  )
}
