// Co-editing in Monaco: the open file's model bound to its Yjs room on Forja
// (/api/projects/{id}/collab/{path}, the Y.Text "content"), with everyone's cursor and
// selection in their colour and with their name (awareness). yjs, y-websocket and y-monaco
// are bundled by npm with the page.
//
// The server sets every cursor's name and colour (builder/services/cursors.py) and drops a
// message that is not one Forja relays. They are checked again here all the same, and only
// ever reach the page through the DOM's own APIs: a colour as one style property, a name as
// text. Nothing received is written into CSS or HTML source.
import * as Y from "yjs";
import * as monaco from "monaco-editor";
import { WebsocketProvider } from "y-websocket";
import { MonacoBinding } from "y-monaco";

const HEX_COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const MAX_NAME = 100;
const LABEL_PLACES = [
  monaco.editor.ContentWidgetPositionPreference.ABOVE,
  monaco.editor.ContentWidgetPositionPreference.BELOW,
];

// A peer's name and colour when both are what the server sends; null otherwise (not shown).
function cursorUser(state) {
  const user = state && state.user;
  if (!user || typeof user.name !== "string" || typeof user.colour !== "string") return null;
  if (!HEX_COLOUR.test(user.colour) || !user.name || [...user.name].length > MAX_NAME) return null;
  return { name: user.name, colour: user.colour };
}

// "#abc" or "#aabbcc" with an alpha: "#aabbcc33".
function withAlpha(colour, alpha) {
  const digits = colour.length === 4 ? [...colour.slice(1)].map((d) => d + d).join("") : colour.slice(1);
  return `#${digits}${alpha}`;
}

// The other people's cursors in this editor: y-monaco marks each one's selection and caret
// with classes named after its client id, which get their colour from rules made through the
// CSSOM (the selector holds only the integer id; the colour goes in through setProperty); each
// caret's name is a content widget of Monaco's whose text is the name.
class Cursors {
  constructor(editor) {
    this.editor = editor;
    this.style = document.createElement("style");
    document.head.appendChild(this.style);
    this.labels = new Map();
  }

  rule(selector) {
    const sheet = this.style.sheet;
    return sheet.cssRules[sheet.insertRule(`${selector} {}`, sheet.cssRules.length)].style;
  }

  paint(awareness, binding, doc) {
    const sheet = this.style.sheet;
    while (sheet.cssRules.length) sheet.deleteRule(0);
    const shown = new Set();
    awareness.getStates().forEach((state, clientId) => {
      const user = cursorUser(state);
      if (clientId === awareness.clientID || !user || !Number.isSafeInteger(clientId)) return;
      this.rule(`.yRemoteSelection-${clientId}`).setProperty("background-color", withAlpha(user.colour, "33"));
      this.rule(`.yRemoteSelectionHead-${clientId}`).setProperty("border-left-color", user.colour);
      const position = binding ? headPosition(state, binding, doc) : null;
      if (position) {
        this.label(clientId).show(user, position);
        shown.add(clientId);
      }
    });
    for (const [clientId, label] of this.labels) {
      if (!shown.has(clientId)) {
        this.editor.removeContentWidget(label);
        this.labels.delete(clientId);
      }
    }
  }

  label(clientId) {
    let label = this.labels.get(clientId);
    if (!label) {
      label = new NameLabel(this.editor, clientId);
      this.labels.set(clientId, label);
      this.editor.addContentWidget(label);
    }
    return label;
  }

  remove() {
    for (const label of this.labels.values()) this.editor.removeContentWidget(label);
    this.labels.clear();
    this.style.remove();
  }
}

class NameLabel {
  constructor(editor, clientId) {
    this.editor = editor;
    this.id = `forja.cursor-name.${clientId}`;
    this.node = document.createElement("div");
    this.node.className = "collab-cursor-name";
    this.position = null;
  }

  getId() {
    return this.id;
  }

  getDomNode() {
    return this.node;
  }

  getPosition() {
    return this.position && { position: this.position, preference: LABEL_PLACES };
  }

  show(user, position) {
    this.node.textContent = user.name;
    this.node.style.setProperty("background-color", user.colour);
    this.position = position;
    this.editor.layoutContentWidget(this);
  }
}

// Where a peer's caret is in the bound model, or null (no selection, or one in no text of ours).
function headPosition(state, binding, doc) {
  const head = state.selection && state.selection.head;
  if (!head) return null;
  try {
    const place = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(head), doc);
    if (!place || place.type !== binding.ytext) return null;
    return binding.monacoModel.getPositionAt(place.index);
  } catch {
    return null;
  }
}

// Join the room of `path`; `onState` hears {conflict, conflictVersion, refused, people}.
// Returns a function that leaves it.
export function joinRoom({ room, path, editor, onState, onBound }) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const doc = new Y.Doc();
  // Everything comes through Forja, which checks each cursor: not from the browser's other tabs directly (whose
  // cursors would then come without the name and colour the server gives them).
  const provider = new WebsocketProvider(`${scheme}://${window.location.host}${room}`, encodeURI(path), doc, {
    disableBc: true,
  });
  // This page's name and colour are the server's to say: it sets them on every message it relays.
  const cursors = new Cursors(editor);
  const meta = doc.getMap("forja");
  let binding = null;
  let refused = "";

  const report = () => {
    const conflict = meta.get("conflict");
    const version = meta.get("conflict_version");
    const people = [];
    provider.awareness.getStates().forEach((state, clientId) => {
      const user = cursorUser(state);
      if (clientId !== provider.awareness.clientID && user) people.push(user);
    });
    onState({
      // Any editor's client can write this map: only a text and a version number are shown.
      conflict: typeof conflict === "string" ? conflict : null,
      conflictVersion: typeof conflict === "string" && Number.isSafeInteger(version) ? version : null,
      refused,
      people,
    });
  };
  const repaint = () => {
    cursors.paint(provider.awareness, binding, doc);
    report();
  };
  provider.awareness.on("change", repaint);
  let typed = null;
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
    // Typing (anyone's, once in the model) moves the text under the carets: their names follow.
    typed = model.onDidChangeContent(() => cursors.paint(provider.awareness, binding, doc));
    repaint();
  });

  const leave = () => {
    if (binding) binding.destroy();
    if (typed) typed.dispose();
    provider.awareness.off("change", repaint);
    provider.destroy();
    doc.destroy();
    cursors.remove();
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
  // The room's awareness is the page's (y-websocket's) own: tests reach it to plant what no server would send.
  return { leave, resolve, awareness: provider.awareness };
}
