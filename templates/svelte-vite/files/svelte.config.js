// Svelte compiler options. Runes mode is forced for this app's own components (not for
// libraries in node_modules), so code uses $state/$props rather than the legacy syntax.
export default {
  vitePlugin: {
    dynamicCompileOptions({ filename }) {
      if (!filename.includes('node_modules')) return { runes: true }
    },
  },
}
