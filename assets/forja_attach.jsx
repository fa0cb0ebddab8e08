// Attaching pictures to a message box: dropped on it, pasted into it, or picked with the hidden file
// input (the paper-clip button opens it). Each picture's bytes go to /api/attachments, which checks its
// type by its bytes and its size; the answer (an id, or the reason it was refused) goes to onAttach.
import { useEffect, useRef } from "react";

async function upload(file, onAttach) {
  const name = file.name || "pasted picture";
  try {
    const response = await fetch(`/api/attachments?name=${encodeURIComponent(name)}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: file,
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok) onAttach(answer.id, name, "");
    else onAttach("", name, typeof answer.detail === "string" ? answer.detail : `“${name}” could not be attached.`);
  } catch (error) {
    onAttach("", name, `“${name}” could not be attached: Forja did not answer. Try again.`);
  }
}

function send(files, onAttach) {
  for (const file of files) upload(file, onAttach);
}

export function ForjaAttach({ targetId, inputId, buttonId, accept, onAttach }) {
  const callback = useRef(onAttach);
  callback.current = onAttach;

  // The paper-clip opens the chooser here, in the browser: a Reflex event would wait for the page's socket first
  // (its queue holds even a client-side script until then), so the chooser would not open on a page still connecting.
  useEffect(() => {
    const onClick = (event) => {
      if (event.target instanceof Element && event.target.closest(`#${CSS.escape(buttonId)}`)) {
        document.getElementById(inputId)?.click();
      }
    };
    document.addEventListener("click", onClick);
    return () => document.removeEventListener("click", onClick);
  }, [buttonId, inputId]);

  useEffect(() => {
    const target = document.getElementById(targetId);
    if (!target) return undefined;
    const onPaste = (event) => {
      const files = Array.from(event.clipboardData?.files || []);
      if (files.length === 0) return; // text pastes as text
      event.preventDefault();
      send(files, (...args) => callback.current(...args));
    };
    const onDragOver = (event) => {
      if (Array.from(event.dataTransfer?.types || []).includes("Files")) {
        event.preventDefault();
        target.dataset.dropping = "true";
      }
    };
    const onDragLeave = () => delete target.dataset.dropping;
    const onDrop = (event) => {
      delete target.dataset.dropping;
      const files = Array.from(event.dataTransfer?.files || []);
      if (files.length === 0) return;
      event.preventDefault();
      send(files, (...args) => callback.current(...args));
    };
    target.addEventListener("paste", onPaste);
    target.addEventListener("dragover", onDragOver);
    target.addEventListener("dragleave", onDragLeave);
    target.addEventListener("drop", onDrop);
    return () => {
      target.removeEventListener("paste", onPaste);
      target.removeEventListener("dragover", onDragOver);
      target.removeEventListener("dragleave", onDragLeave);
      target.removeEventListener("drop", onDrop);
    };
  }, [targetId]);

  return (
    <input
      type="file"
      id={inputId}
      accept={accept}
      multiple
      hidden
      onChange={(event) => {
        send(Array.from(event.target.files || []), (...args) => callback.current(...args));
        event.target.value = "";
      }}
    />
  );
}
