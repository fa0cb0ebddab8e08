(() => {
  // Select mode inside a preview (see select_bridge.py). Inert until the framing Forja page turns
  // it on; it only ever talks to Forja's own origins.
  if (window.parent === window || window.__forjaSelect) return;
  window.__forjaSelect = true;
  const origins = __ORIGINS__;
  const ATTRIBUTE = "__ATTRIBUTE__";
  const MAX_TEXT = __MAX_TEXT__;
  const COLOUR = "#7c3aed";
  const LABEL_HEIGHT = 18;
  let on = false;
  let box = null;
  let label = null;
  let hovered = null;
  let editing = null;

  const post = (message) => {
    for (const origin of origins) {
      try { window.parent.postMessage({ forja: message.forja, ...message }, origin); } catch {}
    }
  };

  // A CSS-like path from <html> down, which Forja finds again in the page's HTML source.
  const domPath = (element) => {
    const parts = [];
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      const tag = node.tagName.toLowerCase();
      if (!node.parentElement) { parts.unshift(tag); break; }
      const same = [...node.parentElement.children].filter((child) => child.tagName === node.tagName);
      parts.unshift(`${tag}:nth-of-type(${same.indexOf(node) + 1})`);
    }
    return parts.join(" > ");
  };

  // A leaf's text as its source writes it (textContent: no CSS text-transform); a larger element's as it reads.
  const textOf = (element) => ((element.children.length ? element.innerText : element.textContent) || "").replace(/\s+/g, " ").trim().slice(0, MAX_TEXT);
  // Only an element holding text and no other elements can be edited in place: its text is one piece of the source.
  const isLeaf = (element) => element.children.length === 0 && textOf(element) !== "" && !["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName);

  const describe = (element) => {
    const near = element.closest(`[${ATTRIBUTE}]`);
    return {
      src: element.getAttribute(ATTRIBUTE) || "",
      near: near ? near.getAttribute(ATTRIBUTE) : "",
      path: domPath(element),
      tag: element.tagName.toLowerCase(),
      text: textOf(element),
      leaf: isLeaf(element),
      page: location.pathname,
    };
  };

  const ensureBox = () => {
    if (box) return;
    box = document.createElement("div");
    box.setAttribute("data-forja-outline", "");
    box.style.cssText = `position:fixed;pointer-events:none;z-index:2147483647;border:2px solid ${COLOUR};border-radius:3px;background:rgba(124,58,237,.08);display:none;box-sizing:border-box;transition:all 60ms ease-out`;
    label = document.createElement("div");
    label.style.cssText = `position:absolute;font:600 11px/${LABEL_HEIGHT}px system-ui,sans-serif;color:white;background:${COLOUR};padding:0 6px;border-radius:2px;white-space:nowrap`;
    box.appendChild(label);
    document.documentElement.appendChild(box);
  };

  const outline = (element) => {
    hovered = element;
    if (!element || !on) { if (box) box.style.display = "none"; return; }
    ensureBox();
    const rect = element.getBoundingClientRect();
    Object.assign(box.style, { display: "block", left: `${rect.left}px`, top: `${rect.top}px`, width: `${rect.width}px`, height: `${rect.height}px` });
    label.textContent = `<${element.tagName.toLowerCase()}>`;
    placeLabel(rect);
  };

  // The tag's label never covers the page's text above the element (where a person reads what they point at): it
  // sits inside the outline's top-right corner, where a block's text rarely reaches; an element too small to hold it
  // gets it just below, or above only when it is at the bottom of the view.
  const placeLabel = (rect) => {
    const inside = rect.width >= label.offsetWidth + 8 && rect.height >= LABEL_HEIGHT + 4;
    const below = rect.bottom + LABEL_HEIGHT <= innerHeight;
    Object.assign(label.style, {
      right: inside ? "0px" : "auto",
      left: inside ? "auto" : "-2px",
      top: inside ? "0px" : below ? `${rect.height - 2}px` : `${-LABEL_HEIGHT - 2}px`,
    });
  };

  const pickable = (target) => target instanceof Element && target !== box && !box?.contains(target) && target !== document.documentElement;

  // The element's own text nodes, with what they said, put back as they were: the page's framework still holds
  // them, so its next update (a hot reload) lands on the page.
  const restore = (element) => {
    const original = element.__forjaOriginal;
    for (const [node, value] of original) node.nodeValue = value;
    element.replaceChildren(...original.map(([node]) => node));
  };

  const stopEditing = (save) => {
    const element = editing;
    if (!element) return;
    editing = null;
    element.contentEditable = "false";
    element.removeAttribute("contenteditable");
    const fresh = textOf(element);
    const { old, ...place } = element.__forjaEdit;
    // The frame shows only saved text: the typed words go to Forja, which reloads the frame once they are saved.
    restore(element);
    if (save && fresh !== old) post({ forja: "text", ...place, old, new: fresh });
  };

  const startEditing = (element) => {
    if (!isLeaf(element)) return;
    stopEditing(false);
    editing = element;
    element.__forjaOriginal = [...element.childNodes].map((node) => [node, node.nodeValue]);
    element.__forjaEdit = { ...describe(element), old: textOf(element) };
    element.contentEditable = "true";
    element.focus();
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  };

  const swallow = (event) => {
    if (!on || !pickable(event.target) || editing?.contains(event.target)) return false;
    event.preventDefault();
    event.stopPropagation();
    event.stopImmediatePropagation();
    return true;
  };

  // mousemove as well as mouseover: a pointer already resting on an element when Select turns on outlines it at its first move.
  const hover = (event) => { if (on && !editing && pickable(event.target) && event.target !== hovered) outline(event.target); };
  addEventListener("mouseover", hover, true);
  addEventListener("mousemove", hover, true);
  addEventListener("scroll", () => outline(hovered), true);
  addEventListener("resize", () => outline(hovered));
  addEventListener("mousedown", swallow, true);
  addEventListener("mouseup", swallow, true);
  addEventListener("click", (event) => {
    if (!swallow(event)) return;
    outline(event.target);
    post({ forja: "picked", ...describe(event.target) });
  }, true);
  addEventListener("dblclick", (event) => {
    if (!swallow(event)) return;
    startEditing(event.target);
  }, true);
  addEventListener("keydown", (event) => {
    if (!editing) return;
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); stopEditing(true); }
    else if (event.key === "Escape") { event.preventDefault(); stopEditing(false); }
  }, true);
  addEventListener("focusout", (event) => { if (editing && event.target === editing) stopEditing(true); }, true);
  addEventListener("submit", (event) => { if (on) event.preventDefault(); }, true);

  addEventListener("message", (event) => {
    if (event.source !== window.parent || !origins.includes(event.origin) || event.data?.forja !== "select") return;
    on = Boolean(event.data.on);
    if (!on) { stopEditing(false); outline(null); }
    document.documentElement.style.cursor = on ? "crosshair" : "";
    if (on && event.data.edit) {
      // "Edit text" from Forja's page: the element it names (by its place) becomes editable.
      const element = [...document.querySelectorAll(`[${ATTRIBUTE}]`)].find((node) => node.getAttribute(ATTRIBUTE) === event.data.edit)
        || (event.data.path ? document.querySelector(event.data.path) : null);
      if (element) startEditing(element);
    }
  });
  // A reload (a save, HMR) loses the mode: ask the parent for it again.
  post({ forja: "select-ready" });
})();
