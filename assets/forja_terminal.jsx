// The Terminal tab: xterm.js (bundled from npm with its CSS, nothing from a CDN) on the websocket
// /api/projects/{id}/terminal (builder/api/terminal.py), a shell inside the running preview's sandbox.
// Mounted only while the tab shows: leaving the tab (or the page) closes the socket, which ends the shell.
import { useEffect, useRef } from "react";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";

const THEME = {
  background: "#14161a",
  foreground: "#e6e6e6",
  cursor: "#f76b15",
  cursorAccent: "#14161a",
  selectionBackground: "#f76b1566",
  black: "#1d1f24",
  red: "#ff6b6b",
  green: "#6bd68a",
  yellow: "#f5c451",
  blue: "#6aa8ff",
  magenta: "#d38cff",
  cyan: "#5fd4d4",
  white: "#d8d8d8",
  brightBlack: "#6b717d",
  brightWhite: "#ffffff",
};

function say(term, text, colour) {
  term.write(`\r\n\x1b[${colour}m[Forja] ${text}\x1b[0m\r\n`);
}

// Ctrl+C copies when text is selected (else it is the shell's interrupt); Ctrl+Shift+C too. Ctrl+V and
// Ctrl+Shift+V are left to the browser, whose paste event xterm turns into input.
function clipboardKeys(term) {
  return (event) => {
    if (event.type !== "keydown" || !(event.ctrlKey || event.metaKey)) return true;
    const key = event.key.toLowerCase();
    if (key === "c" && (event.shiftKey || term.hasSelection())) {
      const text = term.getSelection();
      if (text && navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
      if (!event.shiftKey) term.clearSelection();
      event.preventDefault();
      return false;
    }
    if (key === "v") return false;
    return true;
  };
}

export function ForjaTerminal({ projectId, fontSize }) {
  const boxRef = useRef(null);
  useEffect(() => {
    const box = boxRef.current;
    if (!box || !projectId) return undefined;
    const term = new Terminal({
      cursorBlink: true,
      fontSize: fontSize || 13,
      fontFamily: '"JetBrains Mono", "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace',
      theme: THEME,
      scrollback: 5000,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box);
    term.attachCustomKeyEventHandler(clipboardKeys(term));
    try {
      fit.fit();
    } catch {
      // not laid out yet: the observer below fits it once it is
    }
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const address =
      `${scheme}://${window.location.host}/api/projects/${encodeURIComponent(projectId)}/terminal` +
      `?cols=${term.cols}&rows=${term.rows}`;
    const socket = new WebSocket(address);
    socket.binaryType = "arraybuffer";
    box.dataset.state = "connecting";
    let refused = false;
    socket.onopen = () => {
      box.dataset.state = "open";
      term.focus();
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        const message = JSON.parse(event.data);
        if (message.type === "error") {
          refused = true;
          say(term, message.detail, "31");
        }
        return;
      }
      term.write(new Uint8Array(event.data));
    };
    socket.onclose = () => {
      box.dataset.state = "closed";
      if (!refused) say(term, "The terminal is closed. Open the Terminal tab again for a new shell.", "2");
    };
    const encoder = new TextEncoder();
    const typed = term.onData((data) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
    });
    const resized = term.onResize(({ cols, rows }) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "resize", cols, rows }));
    });
    const observer = new ResizeObserver(() => {
      try {
        fit.fit();
      } catch {
        // hidden (display: none): nothing to fit to
      }
    });
    observer.observe(box);
    return () => {
      observer.disconnect();
      typed.dispose();
      resized.dispose();
      socket.close();
      term.dispose();
    };
  }, [projectId, fontSize]);
  return <div ref={boxRef} className="forja-terminal" id="terminal-screen" data-state="connecting" />;
}
