const KEY = 'notes';
const list = document.getElementById('notes');
const search = document.getElementById('search');
let notes = JSON.parse(localStorage.getItem(KEY) || '[]');

function save() {
  localStorage.setItem(KEY, JSON.stringify(notes));
}

function render() {
  const word = search.value.trim().toLowerCase();
  const shown = notes.filter((note) => !word || (note.title + '\n' + note.text).toLowerCase().includes(word));
  list.replaceChildren();
  for (const note of shown) {
    const item = document.createElement('li');
    const title = document.createElement('h2');
    title.textContent = note.title;
    const text = document.createElement('p');
    text.textContent = note.text;
    const remove = document.createElement('button');
    remove.textContent = 'Delete';
    remove.setAttribute('aria-label', 'Delete ' + note.title);
    remove.onclick = () => { notes = notes.filter((n) => n !== note); save(); render(); };
    item.append(title, text, remove);
    list.append(item);
  }
  document.getElementById('none').hidden = !(word && shown.length === 0 && notes.length > 0);
}

document.getElementById('note-form').onsubmit = (event) => {
  event.preventDefault();
  const title = document.getElementById('title');
  const text = document.getElementById('text');
  if (!title.value.trim()) return;
  notes.unshift({ title: title.value.trim(), text: text.value.trim(), created: Date.now() });
  title.value = '';
  text.value = '';
  save();
  render();
};
search.oninput = render;
render();
