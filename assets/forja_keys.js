// Keyboard use of the builder where Reflex's components offer none (loaded on every page):
//   * Ctrl/Cmd+Enter in the home prompt builds, as the Build button does. The follow-up box sends on Enter and
//     Ctrl/Cmd+Enter by itself (Reflex's enter_key_submit, which marks the event handled).
//   * Enter or Space on a file tree row opens the file or folds the folder, and on a version in History shows what it
//     changed, as a click does.
document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing) return;
  const target = event.target;
  if (!(target instanceof HTMLElement)) return;
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.id === "prompt") {
    event.preventDefault();
    document.getElementById("build-button")?.click();
  } else if ((event.key === "Enter" || event.key === " ") && target.matches('[role="treeitem"], .history-row')) {
    event.preventDefault();
    target.click();
  }
});
