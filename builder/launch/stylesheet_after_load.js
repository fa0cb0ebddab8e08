// The whole stylesheet once the page has loaded (builder/launch/critical_css.py): its link's type was not a styling
// language, so nothing was fetched for it; until it arrives the page's own rules, inline, draw the first view.
(() => {
  const fetchStylesheet = () => {
    for (const link of document.querySelectorAll('link[type="text/forja-after-load"]')) link.type = "text/css";
  };
  if (document.readyState === "complete") fetchStylesheet();
  else window.addEventListener("load", fetchStylesheet, { once: true });
})();
