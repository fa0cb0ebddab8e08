// The Preview tab's frame, and the WebContainer runner that runs front-end projects in this
// browser. Forja's state decides the mode; this file does what only the browser can:
//   * "webcontainer": boot a WebContainer (bounded by a timeout, since offline its runtime never
//     answers), mount the project, install, start the dev server, report its URL; apply saved
//     versions to its file system so the dev server's HMR shows them. Any boot problem calls
//     onFallback and Forja starts the server runner instead. The server asks for this mode only where
//     the settings and the page allow a WebContainer (assets/workspace_opening.js), and the
//     WebContainer API is imported only then.
//   * "server": frame the URL of a preview that runs on Forja's side.
// In both modes the preview's console errors come back here (postMessage from the preview's
// origin, or WebContainer's preview-message event) and go to the project's log, flagged.
// Select mode: the preview's own script (preview_runtime/select_bridge.js) outlines and picks
// elements; this side turns it on and off and passes on what it reports, only while it is on and
// only from the frame's window and the preview's origin (the preview is untrusted code).
import { useEffect, useRef } from "react";

const FAILED_KEY = "forja.webcontainer.failed";
const CONSOLE_KIND = "forja-console";
// Terminal escapes (colours, cursor moves) that npm and Vite print; the Logs tab shows text.
const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b\][^\x07]*(\x07|\x1b\\)|\r/g;

// A tiny static server for pages without package.json: WebContainers run Node, not Python.
const STATIC_SERVER = `import http from "node:http";
import fs from "node:fs/promises";
import path from "node:path";
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
  ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
  ".gif": "image/gif", ".webp": "image/webp", ".ico": "image/x-icon", ".woff2": "font/woff2" };
http.createServer(async (req, res) => {
  let name = decodeURIComponent(new URL(req.url, "http://preview").pathname);
  if (name.endsWith("/")) name += "index.html";
  const file = path.join(process.cwd(), path.normalize(name));
  try {
    const data = await fs.readFile(file);
    res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
    res.end(data);
  } catch {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("Not found: " + name);
  }
}).listen(Number(process.env.PORT));
`;
const STATIC_SERVER_PATH = ".forja/serve.mjs";
// An install that hangs in the browser goes to the server runner instead of spinning forever.
const INSTALL_TIMEOUT_MS = 180_000;

// Lines for the project's log, sent in small batches to Forja's API (same origin).
function logSender(projectId) {
  let queue = [];
  let timer = null;
  const flush = async () => {
    clearTimeout(timer);
    timer = null;
    while (queue.length) {
      const lines = queue.splice(0, 200);
      await fetch(`/api/projects/${encodeURIComponent(projectId)}/preview/logs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ lines }),
      }).catch(() => {});
    }
  };
  // Process output becomes one log line per line; a console error stays one line with its stack,
  // so "Fix this error" sends the whole of it. level: "error", "warning", or null (Forja judges).
  const send = (source, text, level = null) => {
    const clean = String(text).replace(ANSI, "");
    for (const line of source === "browser" ? [clean] : clean.split("\n")) {
      if (line.trim()) queue.push({ source, text: line.slice(0, 4000), level });
    }
    if (!timer) timer = setTimeout(flush, 250);
  };
  send.flush = flush;
  return send;
}

function decode(file) {
  if (file.encoding !== "base64") return file.content;
  return Uint8Array.from(atob(file.content), (c) => c.charCodeAt(0));
}

async function fetchTree(projectId) {
  const response = await fetch(`/api/projects/${encodeURIComponent(projectId)}/tree`);
  if (!response.ok) throw new Error(`Forja answered ${response.status} for the project's files`);
  return response.json();
}

function mountTree(files) {
  const root = {};
  for (const file of files) {
    const parts = file.path.split("/");
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      dir[part] ??= { directory: {} };
      dir = dir[part].directory;
    }
    dir[parts[parts.length - 1]] = { file: { contents: decode(file) } };
  }
  return root;
}

function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// One WebContainer per page (the API allows only one); it follows the project on screen.
const engine = { container: null, projectId: null, files: new Map(), processes: [], run: 0, install: [], dev: [] };
// A package.json that had nothing to install starts with no install (preview_runtime/detect/node.py needs_install);
// a dependency added later installs with npm, the only manager the browser runs.
const NPM_INSTALL = ["npm", "install", "--no-audit", "--no-fund"];

// Files that decide the dependencies (as preview_runtime/plan.py DEPENDENCY_FILES): a change installs again.
const DEPENDENCY_MANIFESTS = new Set(["package-lock.json", "npm-shrinkwrap.json", "package.json"]);

async function stopEngine() {
  engine.run += 1;
  for (const process of engine.processes.splice(0)) process.kill();
  engine.files = new Map();
  engine.projectId = null;
  const container = engine.container;
  engine.container = null;
  if (container) await container.teardown();
}

// The install command in the container, its output to the Logs; the caller waits for its exit.
async function spawnInstall(container, install, send, why = "") {
  send("webcontainer", `${why}$ ${install.join(" ")}`);
  const installing = await container.spawn(install[0], install.slice(1));
  engine.processes.push(installing);
  pipeOutput(installing, send, "install");
  return installing;
}

function pipeOutput(process, send, source) {
  process.output.pipeTo(
    new WritableStream({
      write(chunk) {
        send(source, chunk);
      },
    }),
  );
}

// WebContainer.boot() never settles when StackBlitz cannot be reached; a plain request answers
// at once on a machine without internet, so the person does not wait for the whole boot timeout.
const RUNTIME_ORIGIN = "https://stackblitz.com";
const REACHABILITY_TIMEOUT_MS = 5000;

async function checkRuntimeReachable() {
  try {
    await withTimeout(
      fetch(`${RUNTIME_ORIGIN}/headless?forja-reachability`, { mode: "no-cors", cache: "no-store", credentials: "omit" }),
      REACHABILITY_TIMEOUT_MS,
      "timeout",
    );
  } catch (error) {
    if (error.message === "timeout") return; // slow, not absent: let the boot timeout decide
    throw new Error("StackBlitz's servers, which WebContainers load from, cannot be reached from this browser");
  }
}

async function bootContainer(timeoutMs, clientId) {
  if (!self.crossOriginIsolated) {
    throw new Error("this page is not cross-origin isolated (Safari and in-app browsers are not)");
  }
  await checkRuntimeReachable();
  // StackBlitz's API loads only here: a page whose previews run on the server never fetches it.
  const { WebContainer, auth } = await import("@webcontainer/api");
  if (clientId) auth.init({ clientId, scope: "" });
  const booting = WebContainer.boot({ coep: "credentialless", workdirName: "project", forwardPreviewErrors: true });
  return withTimeout(
    booting,
    timeoutMs,
    `it did not boot within ${Math.round(timeoutMs / 1000)} s (its runtime loads from StackBlitz's servers)`,
  ).catch((error) => {
    // A boot that finishes after Forja gave up must not hold the page's only WebContainer.
    booting.then((late) => late.teardown(), () => {});
    throw error;
  });
}

async function startInBrowser({ projectId, install, dev, port, bootTimeoutMs, clientId, send, onReady, onFailed }) {
  const run = engine.run;
  const container = await bootContainer(bootTimeoutMs, clientId);
  if (run !== engine.run) {
    await container.teardown();
    return;
  }
  engine.container = container;
  engine.projectId = projectId;
  engine.install = install;
  engine.dev = dev;
  // The first port that opens is the app's (the dev server may not honour PORT).
  let ready = false;
  container.on("server-ready", (_readyPort, url) => {
    if (run === engine.run && !ready) {
      ready = true;
      onReady(url);
    }
  });
  container.on("error", (error) => send("webcontainer", error.message, "error"));
  container.on("preview-message", (message) => {
    const text = message.message ?? (message.args ?? []).join(" ");
    send("browser", `${message.type === "PREVIEW_CONSOLE_ERROR" ? "" : "Uncaught "}${text}${message.stack ? `\n${message.stack}` : ""}`, "error");
  });
  send("webcontainer", "WebContainer booted in this browser; mounting the project.");
  const tree = await fetchTree(projectId);
  const files = [...tree.files];
  if (!dev.length) files.push({ path: STATIC_SERVER_PATH, content: STATIC_SERVER, encoding: "utf-8" });
  await container.mount(mountTree(files));
  engine.files = new Map(tree.files.map((f) => [f.path, f.content]));
  if (install.length) {
    const installing = await spawnInstall(container, install, send);
    const code = await withTimeout(
      installing.exit,
      INSTALL_TIMEOUT_MS,
      `${install.join(" ")} did not finish within ${INSTALL_TIMEOUT_MS / 1000} s in the browser`,
    ).catch((error) => {
      installing.kill();
      error.projectSpecific = true;
      throw error;
    });
    if (run !== engine.run) return;
    if (code !== 0) {
      onFailed(`${install.join(" ")} exited with code ${code}; see the Logs tab.`);
      return;
    }
  }
  const argv = dev.length ? dev : ["node", STATIC_SERVER_PATH];
  send("webcontainer", `$ ${argv.join(" ")}`);
  const server = await container.spawn(argv[0], argv.slice(1), { env: { PORT: String(port), HOST: "0.0.0.0" } });
  engine.processes.push(server);
  pipeOutput(server, send, "dev-server");
  server.exit.then((code) => {
    if (run === engine.run) onFailed(`The dev server exited with code ${code}; see the Logs tab.`);
  });
}

// Saved versions reach the running WebContainer file by file; its dev server reloads them.
// Returns how many files changed.
async function applyVersion(projectId, send) {
  const container = engine.container;
  const tree = await fetchTree(projectId);
  if (container !== engine.container || engine.projectId !== projectId) return 0;
  const seen = new Set();
  const changed = [];
  for (const file of tree.files) {
    seen.add(file.path);
    if (engine.files.get(file.path) === file.content) continue;
    const folder = file.path.split("/").slice(0, -1).join("/");
    if (folder) await container.fs.mkdir(folder, { recursive: true });
    await container.fs.writeFile(file.path, decode(file));
    engine.files.set(file.path, file.content);
    changed.push(file.path);
  }
  for (const path of [...engine.files.keys()]) {
    if (!seen.has(path)) {
      await container.fs.rm(path, { force: true });
      engine.files.delete(path);
      changed.push(path);
    }
  }
  if (changed.length) send("webcontainer", `Version ${tree.version}: ${changed.length} file(s) written into the WebContainer.`);
  const install = engine.install.length || !engine.dev.length ? engine.install : NPM_INSTALL;
  if (install.length && changed.some((path) => DEPENDENCY_MANIFESTS.has(path))) {
    // The dev server keeps running; it picks the new packages up on its next reload.
    const installing = await spawnInstall(container, install, send, "The dependencies changed: ");
    const code = await installing.exit;
    if (code !== 0) send("webcontainer", `${install.join(" ")} exited with code ${code}.`, "error");
  }
  return changed.length;
}

export function ForjaPreview({
  projectId,
  url,
  openUrl,
  reloads,
  hotReload,
  mode,
  run,
  version,
  install,
  dev,
  port,
  bootTimeoutMs,
  clientId,
  onReady,
  onFallback,
  onFailed,
  selecting,
  selectEdit,
  onPicked,
  onTextTyped,
}) {
  const frameRef = useRef(null);
  const callbacks = useRef({});
  callbacks.current = { onReady, onFallback, onFailed, onPicked, onTextTyped };
  const selectingRef = useRef(false);
  selectingRef.current = Boolean(selecting);
  // The preview's origin, or null: Select messages go only there.
  const previewOrigin = () => {
    try {
      return url ? new URL(url).origin : null;
    } catch {
      return null;
    }
  };
  const tellFrame = (message) => {
    const frame = frameRef.current;
    const origin = previewOrigin();
    if (frame?.contentWindow && origin) frame.contentWindow.postMessage(message, origin);
  };
  const sendRef = useRef(null);
  if (!sendRef.current || sendRef.current.projectId !== projectId) {
    sendRef.current = { projectId, send: logSender(projectId) };
  }
  const send = sendRef.current.send;

  useEffect(() => {
    if (mode !== "webcontainer" || !projectId) return undefined;
    const failedBefore = sessionStorage.getItem(FAILED_KEY);
    if (failedBefore) {
      send("webcontainer", `WebContainers could not start earlier in this tab (${failedBefore}); using the server runner.`);
      send.flush().then(() => callbacks.current.onFallback(failedBefore));
      return undefined;
    }
    send("webcontainer", `Starting the project in this browser (WebContainer; ${Math.round(bootTimeoutMs / 1000)} s to boot).`);
    startInBrowser({
      projectId,
      install: install ?? [],
      dev: dev ?? [],
      port,
      bootTimeoutMs,
      clientId,
      send,
      onReady: (readyUrl) => callbacks.current.onReady(readyUrl),
      onFailed: (reason) => send.flush().then(() => callbacks.current.onFailed(reason)),
    }).catch((error) => {
      // A boot that failed will fail again in this tab; a slow install belongs to this project only.
      if (!error.projectSpecific) sessionStorage.setItem(FAILED_KEY, error.message);
      // A warning, not an error: nothing is wrong with the project, so "Fix this error" has nothing to do.
      send("webcontainer", `WebContainer: ${error.message}. Falling back to the server runner.`, "warning");
      send.flush().then(() => callbacks.current.onFallback(error.message));
    });
    return () => {
      stopEngine();
    };
  }, [mode, projectId, run]);

  useEffect(() => {
    if (mode === "webcontainer" && engine.container && engine.projectId === projectId) {
      applyVersion(projectId, send)
        .then((changed) => {
          // A page without hot reload (plain HTML) shows the new files only when it loads again;
          // setting src navigates even to the same address.
          if (changed && !hotReload && frameRef.current) frameRef.current.src = url;
        })
        .catch((error) => send("webcontainer", `Could not apply the saved files: ${error.message}`, "error"));
    }
  }, [version]);

  useEffect(() => {
    tellFrame({ forja: "select", on: Boolean(selecting) });
  }, [selecting, url]);

  useEffect(() => {
    if (!selectEdit) return;
    const { src, path } = JSON.parse(selectEdit);
    tellFrame({ forja: "select", on: true, edit: src, path });
  }, [selectEdit]);

  useEffect(() => {
    const listen = (event) => {
      const frame = frameRef.current;
      if (!frame || event.source !== frame.contentWindow) return;
      if (!url || event.origin !== previewOrigin()) return;
      const forja = event.data?.forja;
      if (forja === "select-ready") {
        tellFrame({ forja: "select", on: selectingRef.current });
      } else if (selectingRef.current && (forja === "picked" || forja === "text")) {
        const callback = forja === "picked" ? callbacks.current.onPicked : callbacks.current.onTextTyped;
        if (callback) callback(JSON.stringify(event.data));
      } else if (event.data?.kind === CONSOLE_KIND) {
        send("browser", event.data.text, "error");
      }
    };
    window.addEventListener("message", listen);
    return () => window.removeEventListener("message", listen);
  }, [url, projectId]);

  if (!url) return null;
  return (
    <iframe
      key={reloads}
      ref={frameRef}
      // A server preview loads through Forja's page that opens it for this person; it ends at `url`.
      src={openUrl || url}
      title="Preview"
      id="preview-frame"
      onLoad={() => tellFrame({ forja: "select", on: selectingRef.current })}
      data-selecting={selecting ? "on" : "off"}
      // The preview is another origin; these let it run its own scripts and forms only.
      sandbox="allow-scripts allow-forms allow-same-origin allow-popups allow-modals"
      allow="cross-origin-isolated; clipboard-write"
      style={{ border: "none", background: "white", flex: 1, width: "100%", height: "100%" }}
    />
  );
}
