// Co-editing in Monaco: the open file's model bound to its Yjs room on Forja
// (/api/projects/{id}/collab/{path}, the Y.Text "content"), with everyone's cursor and
// selection in their colour and with their name (awareness). yjs, y-websocket and y-monaco
// are bundled by npm with the page.
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { MonacoBinding } from "y-monaco";

const COLOURS = ["#e5484d", "#0090ff", "#30a46c", "#f76b15", "#8e4ec6", "#d6409f", "#12a594", "#ffc53d"];

export function colourOf(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return COLOURS[hash % COLOURS.length];
}

function cssString(text) {
  return JSON.stringify(String(text)).replace(/</g, "\\3c ");
}

// y-monaco marks each remote cursor with classes named after the client: give each its
// person's colour, and the caret a label with their name.
function paintCursors(awareness, style) {
  const rules = [];
  awareness.getStates().forEach((state, clientId) => {
    if (clientId === awareness.clientID || !state.user) return;
    const { name, colour } = state.user;
    rules.push(
      `.yRemoteSelection-${clientId} { background-color: ${colour}33; }`,
      `.yRemoteSelectionHead-${clientId} { position: absolute; border-left: 2px solid ${colour}; height: 100%; box-sizing: border-box; }`,
      `.yRemoteSelectionHead-${clientId}::after { content: ${cssString(name)}; position: absolute; top: -1.3em; left: -2px; ` +
        `background: ${colour}; color: white; font-size: 11px; line-height: 1.2em; padding: 0 4px; border-radius: 3px; ` +
        `white-space: nowrap; pointer-events: none; z-index: 10; }`,
    );
  });
  style.textContent = rules.join("\n");
}

// Join the room of `path`; `onState` hears {conflict, conflictVersion, refused, people}.
// Returns a function that leaves it.
export function joinRoom({ room, path, editor, name, onState, onBound }) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${scheme}://${window.location.host}${room}`, encodeURI(path), doc);
  const colour = colourOf(name);
  provider.awareness.setLocalStateField("user", { name, colour });
  const style = document.createElement("style");
  document.head.appendChild(style);
  const meta = doc.getMap("forja");
  let binding = null;
  let refused = "";

  const report = () => {
    const people = [];
    provider.awareness.getStates().forEach((state, clientId) => {
      if (clientId !== provider.awareness.clientID && state.user) people.push(state.user);
    });
    onState({
      conflict: meta.get("conflict") ?? null,
      conflictVersion: meta.get("conflict_version") ?? null,
      refused,
      people,
    });
  };
  const repaint = () => {
    paintCursors(provider.awareness, style);
    report();
  };
  provider.awareness.on("change", repaint);
  meta.observe(report);
  // A refusal (code 4000 + HTTP status: not allowed, too many editors) is final: say why and stop retrying.
  provider.on("connection-close", (event) => {
    if (event && event.code >= 4000) {
      refused = event.reason || "This file's shared editing refused to let you in.";
      provider.shouldConnect = false;
      report();
    }
  });
  // Bind once the room's text is here, so the model never shows an empty document meanwhile.
  provider.on("sync", (synced) => {
    if (!synced || binding) return;
    const model = editor.getModel();
    if (!model) return;
    onBound(true);
    binding = new MonacoBinding(doc.getText("content"), model, new Set([editor]), provider.awareness);
    onBound(false);
    report();
  });

  const leave = () => {
    if (binding) binding.destroy();
    provider.awareness.off("change", repaint);
    provider.destroy();
    doc.destroy();
    style.remove();
  };
  const resolve = (keepMine) => {
    doc.transact(() => {
      const mine = meta.get("conflict");
      if (keepMine && typeof mine === "string") {
        const text = doc.getText("content");
        text.delete(0, text.length);
        text.insert(0, mine);
      }
      meta.delete("conflict");
      meta.delete("conflict_version");
    });
  };
  return { leave, resolve };
}
