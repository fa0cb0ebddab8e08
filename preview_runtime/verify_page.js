// Run in the checked page by preview_runtime/verify.py: what a person would see, in words.
// Returns {overlay, visibleText, visibleMedia}: the framework's error overlay text (empty when
// there is none) and whether anything visible is on the page at all.
() => {
  const text = (node) => (node ? (node.innerText || node.textContent || "").trim() : "");

  const overlayText = () => {
    // Vite puts its overlay in a custom element with an open shadow root.
    const vite = document.querySelector("vite-error-overlay");
    if (vite) {
      const root = vite.shadowRoot;
      const message = root && (root.querySelector(".message-body") || root.querySelector(".message"));
      const file = root && root.querySelector(".file");
      return [text(message) || text(root && root.querySelector(".window")), text(file)].filter(Boolean).join(" at ");
    }
    // Next.js renders its error dialog in a <nextjs-portal> shadow root.
    const next = document.querySelector("nextjs-portal");
    if (next && next.shadowRoot) {
      const dialog = next.shadowRoot.querySelector("[data-nextjs-dialog], [data-nextjs-toast]");
      if (dialog) return text(next.shadowRoot.querySelector("#nextjs__container_errors_desc")) || text(dialog);
    }
    // webpack-dev-server (Create React App, Vue CLI) shows compile errors in an iframe overlay.
    const frame = document.querySelector("#webpack-dev-server-client-overlay");
    if (frame) {
      try {
        return text(frame.contentDocument && frame.contentDocument.body);
      } catch (error) {
        return "The page shows a build error overlay.";
      }
    }
    return "";
  };

  const visible = (element) => {
    const style = getComputedStyle(element);
    if (style.visibility === "hidden" || style.display === "none" || Number(style.opacity) === 0) return false;
    const box = element.getBoundingClientRect();
    return box.width > 4 && box.height > 4;
  };

  const body = document.body;
  const visibleText = body ? body.innerText.trim().length > 0 : false;
  const media = body ? body.querySelectorAll("img, svg, canvas, video, iframe, input, button, textarea, select") : [];
  const visibleMedia = Array.from(media).some(visible);
  return { overlay: overlayText().slice(0, 2000), visibleText, visibleMedia };
}
