// The notes page of flask_notes_open.py and its twin: one person's notes, each with Open and Delete.
const list = document.getElementById("notes");

async function show() {
  const answer = await fetch("/api/notes");
  list.replaceChildren();
  if (!answer.ok) return;
  for (const note of await answer.json()) {
    const item = document.createElement("li");
    item.textContent = note.text + " ";
    const open = document.createElement("button");
    open.textContent = "Open";
    open.onclick = async () => {
      const one = await fetch(`/api/notes/${note.id}`);
      document.getElementById("shown").textContent = one.ok ? (await one.json()).text : "Not found";
    };
    const remove = document.createElement("button");
    remove.textContent = "Delete";
    remove.onclick = async () => {
      await fetch(`/api/notes/${note.id}`, { method: "DELETE" });
      await show();
    };
    item.append(open, remove);
    list.append(item);
  }
}

document.getElementById("add").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = event.target.elements.text;
  await fetch("/api/notes", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text: field.value }),
  });
  field.value = "";
  await show();
});

fetch("/_forja/auth/me")
  .then((answer) => answer.json())
  .then(({ user }) => {
    document.getElementById("who").textContent = user ? `Signed in as ${user.email}` : "Sign in to keep notes";
  });
show();
