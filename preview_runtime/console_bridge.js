(() => {
  if (window.parent === window) return;
  const origins = __ORIGINS__;
  let sent = 0;
  const post = (text) => {
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
