// Monaco, bundled from npm and served by Forja: loader.config({ monaco }) stops
// @monaco-editor/react from fetching the editor from a CDN, so the Code tab works offline
// and under the workspace's cross-origin isolation headers.
import { useEffect, useRef } from "react";
import Editor, { loader } from "@monaco-editor/react";
import * as monaco from "monaco-editor";
import EditorWorker from "monaco-editor/esm/vs/editor/editor.worker?worker";
import JsonWorker from "monaco-editor/esm/vs/language/json/json.worker?worker";
import CssWorker from "monaco-editor/esm/vs/language/css/css.worker?worker";
import HtmlWorker from "monaco-editor/esm/vs/language/html/html.worker?worker";
import TsWorker from "monaco-editor/esm/vs/language/typescript/ts.worker?worker";
import { LIGHT_THEME, defineThemes } from "./monaco_themes.js";

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

export function ForjaEditor({ value, path, language, readOnly, theme, revision, onChange, onSave }) {
  const saveRef = useRef(onSave);
  const editorRef = useRef(null);
  // True while Forja replaces a model's text, so that is not reported as the person's edit.
  const applyingRef = useRef(false);
  useEffect(() => {
    saveRef.current = onSave;
  }, [onSave]);

  // The project changed underneath (a generation, a restore): models of other files are stale,
  // and the open file shows the new text. Unsaved drafts live in Forja's state, not here.
  useEffect(() => {
    const editor = editorRef.current;
    if (!editor) return;
    const current = editor.getModel();
    for (const model of monaco.editor.getModels()) {
      if (model !== current) model.dispose();
    }
    if (current && current.getValue() !== value) {
      applyingRef.current = true;
      current.setValue(value ?? "");
      applyingRef.current = false;
    }
  }, [revision]);

  const handleMount = (editor) => {
    editorRef.current = editor;
    editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => {
      const model = editor.getModel();
      if (saveRef.current && model) {
        saveRef.current(model.uri.path.replace(/^\//, ""), editor.getValue());
      }
    });
    window.__forjaEditor = editor;
  };

  return (
    <Editor
      height="100%"
      path={path}
      defaultValue={value}
      language={language}
      theme={theme ?? LIGHT_THEME}
      onMount={handleMount}
      onChange={(text) => onChange && !applyingRef.current && onChange(path, text ?? "")}
      options={{
        readOnly: !!readOnly,
        automaticLayout: true,
        minimap: { enabled: false },
        fontSize: 13,
        scrollBeyondLastLine: false,
        tabSize: 2,
      }}
    />
  );
}
