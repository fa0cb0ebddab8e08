// Monaco's own themes, "vs" and "vs-dark", at WCAG AA. The token colours that measure under 4.5:1 on the editor's
// background are made darker (light) or lighter (dark), in the same hue, each the least that clears 4.6:1 (figures
// beside them, before -> after); and the number of a file's last line, which Monaco dims to 1.8:1, is drawn as the
// others are. Everything else is Monaco's.
export const LIGHT_THEME = "forja-light";
export const DARK_THEME = "forja-dark";

export function defineThemes(monaco) {
  monaco.editor.defineTheme(LIGHT_THEME, {
    base: "vs",
    inherit: true,
    rules: [
      { token: "annotation", foreground: "737373" }, // 3.95 -> 4.74
      { token: "metatag.content.html", foreground: "eb0000" }, // 4.00 -> 4.63
      { token: "metatag.html", foreground: "737373" }, // 3.95 -> 4.74
      { token: "metatag.xml", foreground: "737373" },
      { token: "attribute.name", foreground: "eb0000" }, // 4.00 -> 4.63
      { token: "string.sql", foreground: "eb0000" },
      { token: "operator.sql", foreground: "657687" }, // 3.64 -> 4.67
    ],
    colors: { "editorLineNumber.dimmedForeground": "#237893" },
  });
  monaco.editor.defineTheme(DARK_THEME, {
    base: "vs-dark",
    inherit: true,
    rules: [
      { token: "variable.predefined", foreground: "6e86c1" }, // 2.92 -> 4.64
      { token: "comment", foreground: "679553" }, // 4.21 -> 4.76
      { token: "regexp", foreground: "b9709c" }, // 4.19 -> 4.65
      { token: "annotation", foreground: "cd6a6a" }, // 4.49 -> 4.66
      { token: "delimiter.html", foreground: "888888" }, // 4.22 -> 4.70
      { token: "delimiter.xml", foreground: "888888" },
      { token: "tag.id.pug", foreground: "6689b9" }, // 3.59 -> 4.64
      { token: "tag.class.pug", foreground: "6689b9" },
      { token: "string.sql", foreground: "ff3838" }, // 4.17 -> 4.66
    ],
    colors: { "editorLineNumber.dimmedForeground": "#858585" },
  });
}
