import { SIGN_IN_TEXT, SIGN_OUT_TEXT, SIGNED_IN_TEXT, signInUrl, signOutUrl } from '../lib/forjaData.js'

// Who keeps this list: a link to sign in, or the signed-in person's email and a way out. Nothing where the app has no
// sign-in (see src/lib/forjaData.js).
export default function Account({ account }) {
  if (!account.backend) return null
  if (!account.user) {
    return (
      <a
        href={signInUrl()}
        className="mt-3 inline-flex items-center gap-1.5 text-sm font-medium text-accent hover:underline"
      >
        <svg viewBox="0 0 24 24" className="size-4 shrink-0" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" aria-hidden="true">
          <circle cx="12" cy="8" r="4" />
          <path d="M4 21a8 8 0 0 1 16 0" />
        </svg>
        {SIGN_IN_TEXT}
      </a>
    )
  }
  return (
    <div className="mt-3 flex flex-wrap items-center gap-x-3 gap-y-1 text-sm text-slate-600 dark:text-slate-400">
      <span className="inline-flex min-w-0 items-center gap-1.5">
        <svg viewBox="0 0 24 24" className="size-4 shrink-0 text-accent" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" aria-hidden="true">
          <circle cx="12" cy="8" r="4" />
          <path d="M4 21a8 8 0 0 1 16 0" />
        </svg>
        <span className="truncate font-medium text-slate-900 dark:text-slate-100">{account.user.email}</span>
      </span>
      <span className="hidden sm:inline">{SIGNED_IN_TEXT}</span>
      <a href={signOutUrl()} className="font-medium text-accent hover:underline">
        {SIGN_OUT_TEXT}
      </a>
    </div>
  )
}
