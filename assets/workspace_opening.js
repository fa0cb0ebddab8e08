// What the workspace asks the browser as a project opens (builder/state/preview.py evaluates this file's expression
// and hands the answer to PreviewPaneState.opened):
//   * phone: below Radix's `md` (assets/forja.css) the page shows one pane at a time;
//   * webcontainers: whether this page could boot a WebContainer at all. It must be cross-origin isolated (Safari and
//     in-app browsers are not), and a boot that failed in this tab (assets/forja_preview.jsx keeps why) fails again:
//     either way the server runner starts at once, with no WebContainer attempt and no warning first.
({
  phone: window.matchMedia("(max-width: 63.99em)").matches,
  webcontainers: self.crossOriginIsolated === true && !sessionStorage.getItem("forja.webcontainer.failed"),
})
