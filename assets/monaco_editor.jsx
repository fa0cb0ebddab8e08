// Monaco, bundled from npm and served by Forja: loader.config({ monaco }) stops
// @monaco-editor/react from fetching the editor from a CDN, so the Code tab works offline
// and under the workspace's cross-origin isolation headers.
import { useEffect, useRef, useState } from "react";
import Editor, { loader } from "@monaco-editor/react";
import * as monaco from "monaco-editor";
import EditorWorker from "monaco-editor/esm/vs/editor/editor.worker?worker";
import JsonWorker from "monaco-editor/esm/vs/language/json/json.worker?worker";
import CssWorker from "monaco-editor/esm/vs/language/css/css.worker?worker";
import HtmlWorker from "monaco-editor/esm/vs/language/html/html.worker?worker";
import TsWorker from "monaco-editor/esm/vs/language/typescript/ts.worker?worker";
import { LIGHT_THEME, defineThemes } from "./monaco_themes.js";
import { joinRoom } from "./monaco_collab.js";

const WORKERS = {
  json: JsonWorker,
  css: CssWorker,
  scss: CssWorker,
  less: CssWorker,
  html: HtmlWorker,
  handlebars: HtmlWorker,
  razor: HtmlWorker,
  typescript: TsWorker,
  javascript: TsWorker,
};

self.MonacoEnvironment = {
  getWorker(_workerId, label) {
    const Worker = WORKERS[label] ?? EditorWorker;
    return new Worker();
  },
};

loader.config({ monaco });
defineThemes(monaco);

// The page sends plain strings; React projects are JSX and TSX, so tell the TypeScript
// service to accept JSX and not to flag imports of packages it cannot see.
for (const defaults of [
  monaco.languages.typescript.typescriptDefaults,
  monaco.languages.typescript.javascriptDefaults,
]) {
  defaults.setCompilerOptions({
    jsx: monaco.languages.typescript.JsxEmit.Preserve,
    allowJs: true,
    allowNonTsExtensions: true,
    target: monaco.languages.typescript.ScriptTarget.ESNext,
    module: monaco.languages.typescript.ModuleKind.ESNext,
    moduleResolution: monaco.languages.typescript.ModuleResolutionKind.NodeJs,
  });
  defaults.setDiagnosticsOptions({ noSemanticValidation: true, noSyntaxValidation: false });
}

function ConflictNotice({ version, onKeepMine, onTakeTheirs, readOnly }) {
  return (
    <div id="collab-conflict" className="collab-notice collab-conflict" role="alert">
      <span>
        Your team's unsaved changes to this file conflict with version {version}, made while they were typed. The editor
        shows version {version}; your text is kept aside until you choose.
      </span>
      {!readOnly && (
        <span className="collab-actions">
          <button id="conflict-keep-mine" onClick={onKeepMine}>Keep mine</button>
          <button id="conflict-take-theirs" onClick={onTakeTheirs}>Take theirs</button>
        </span>
      )}
    </div>
  );
}

export function ForjaEditor({ value, path, language, readOnly, theme, revision, room, reveal, onChange, onSave }) {
  const saveRef = useRef(onSave);
  const editorRef = useRef(null);
  const roomRef = useRef(null);
  const [mounted, setMounted] = useState(false);
  const [shared, setShared] = useState({ conflict: null, conflictVersion: null, refused: "", people: [] });
  // Read-only from joining a room until its text is bound to the model (a moment; Monaco says
  // "read-only" to a key pressed meanwhile): binding replaces the model's text with the room's,
  // so what was typed before would be lost, or land mid-file. Joining from the first render: an
  // editor just shown (the Code tab opened again) took keys before its room's join began.
  const [joining, setJoining] = useState(() => Boolean(room && path));
  // True while Forja replaces a model's text, so that is not reported as the person's edit.
  const applyingRef = useRef(false);
  useEffect(() => {
    saveRef.current = onSave;
  }, [onSave]);

  // The project changed underneath (a generation, a restore): models of other files are stale,
  // and the open file shows the new text. Unsaved drafts live in Forja's state, not here; a
  // file shared in a room gets the new version from the room instead.
  useEffect(() => {
    const editor = editorRef.current;
    if (!editor) return;
    const current = editor.getModel();
    for (const model of monaco.editor.getModels()) {
      if (model !== current) model.dispose();
    }
    if (current && !roomRef.current && current.getValue() !== value) {
      applyingRef.current = true;
      current.setValue(value ?? "");
      applyingRef.current = false;
    }
  }, [revision]);

  // An answer's place ("path:line:nonce"): once that file's model is the editor's, its line is selected and
  // scrolled to the middle. The model follows the path prop a render later, so this waits a few frames for it.
  useEffect(() => {
    const editor = editorRef.current;
    if (!mounted || !editor || !reveal) return undefined;
    const parts = reveal.split(":"); // the path may hold ":" itself; the last three parts are Forja's
    const target = parts.slice(0, -3).join(":");
    const line = Number(parts[parts.length - 3]);
    let frames = 0;
    let handle = 0;
    const show = () => {
      const model = editor.getModel();
      if (model && model.uri.path.replace(/^\//, "") === target) {
        const at = Math.min(Math.max(line, 1), model.getLineCount());
        editor.setSelection(new monaco.Range(at, 1, at, model.getLineMaxColumn(at)));
        editor.revealLineInCenter(at);
      } else if (frames++ < 60) {
        handle = requestAnimationFrame(show);
      }
    };
    show();
    return () => cancelAnimationFrame(handle);
  }, [mounted, reveal]);

  // The open file's room: everyone's typing arrives in the model, and this person's goes out.
  useEffect(() => {
    const editor = editorRef.current;
    if (!mounted || !editor || !room || !path) return undefined;
    setShared({ conflict: null, conflictVersion: null, refused: "", people: [] });
    setJoining(true);
    const joined = joinRoom({
      room,
      path,
      editor,
      onState: (state) => {
        setShared(state);
        if (state.refused) setJoining(false); // editing alone: Save still makes a version
      },
      onBound: (binding) => {
        applyingRef.current = binding;
        if (!binding) setJoining(false);
      },
    });
    roomRef.current = joined;
    window.__forjaRoom = joined;
    return () => {
      joined.leave();
      roomRef.current = null;
      setJoining(false);
    };
  }, [mounted, room, path]);

  const handleMount = (editor) => {
    editorRef.current = editor;
    editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => {
      const model = editor.getModel();
      if (saveRef.current && model) {
        saveRef.current(model.uri.path.replace(/^\//, ""), editor.getValue());
      }
    });
    window.__forjaEditor = editor;
    setMounted(true);
  };

  return (
    <div className="forja-editor" data-editing={joining ? "joining" : "ready"}>
      {shared.refused && (
        <div id="collab-refused" className="collab-notice" role="status">
          Not editing together: {shared.refused}
        </div>
      )}
      {shared.conflict !== null && (
        <ConflictNotice
          version={shared.conflictVersion}
          readOnly={readOnly}
          onKeepMine={() => roomRef.current && roomRef.current.resolve(true)}
          onTakeTheirs={() => roomRef.current && roomRef.current.resolve(false)}
        />
      )}
      <div className="forja-editor-body">
        <Editor
          height="100%"
          path={path}
          defaultValue={value}
          language={language}
          theme={theme ?? LIGHT_THEME}
          onMount={handleMount}
          onChange={(text) => onChange && !applyingRef.current && onChange(path, text ?? "")}
          options={{
            readOnly: !!readOnly || joining,
            automaticLayout: true,
            minimap: { enabled: false },
            fontSize: 13,
            scrollBeyondLastLine: false,
            tabSize: 2,
            // Room above the first line for the name over another person's cursor there.
            padding: { top: 16 },
          }}
        />
      </div>
    </div>
  );
}
