(() => {
  let post = () => {}; // silent when the page is not framed (a link opened in a tab of its own)

  // A script that did not load leaves a blank page. Most often the network blinked (a phone changing networks, the
  // browser seeing an interface come or go) or the dev server was still preparing its modules: loading the page
  // again once shows the app. A script that fails again goes to the builder like any other error.
  addEventListener(
    "error",
    (event) => {
      const script = event.target;
      if (!(script instanceof HTMLScriptElement) || !script.src) return;
      // The mark goes in the page's history entry, which a reload keeps: storage is often refused to a framed
      // preview (another site's frame). Once a minute at most, or a script that cannot load reloads for ever.
      const state = history.state;
      const plain = state === null || (typeof state === "object" && !Array.isArray(state));
      if (plain && Date.now() - (state?.forjaRetried ?? 0) >= 60_000) {
        try {
          history.replaceState({ ...state, forjaRetried: Date.now() }, "");
          setTimeout(() => location.reload(), 500);
          return;
        } catch {} // the entry cannot be marked: no reload, which could then loop
      }
      post(`A script of the page did not load, even after loading the page again: ${script.src}`);
    },
    true,
  );

  if (window.parent === window) return;
  const origins = __ORIGINS__;
  let sent = 0;
  post = (text) => {
    if (++sent > 200) return;
    for (const origin of origins) {
      try { window.parent.postMessage({ kind: "__KIND__", text: String(text).slice(0, __MAX_TEXT__) }, origin); } catch {}
    }
  };
  const describe = (value) => {
    if (value instanceof Error) return value.stack || `${value.name}: ${value.message}`;
    if (typeof value === "object" && value !== null) { try { return JSON.stringify(value); } catch {} }
    return String(value);
  };
  const original = console.error;
  console.error = (...args) => { post(args.map(describe).join(" ")); original.apply(console, args); };
  addEventListener("error", (event) => {
    const where = event.filename && !event.error?.stack ? ` (${event.filename}:${event.lineno}:${event.colno})` : "";
    post(`Uncaught ${event.error ? describe(event.error) : event.message}${where}`);
  });
  addEventListener("unhandledrejection", (event) => post(`Uncaught (in promise) ${describe(event.reason)}`));
})();
