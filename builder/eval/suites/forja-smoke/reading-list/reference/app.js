const KEY = 'reading-list';
let books = JSON.parse(localStorage.getItem(KEY) || '[]');
let shown = ''; // the status the list is filtered by; '' for all

function save() {
  localStorage.setItem(KEY, JSON.stringify(books));
}

function render() {
  const list = document.getElementById('books');
  list.replaceChildren();
  for (const button of document.querySelectorAll('.filters button')) {
    button.setAttribute('aria-pressed', String(button.dataset.status === shown));
  }
  const visible = books.filter((book) => !shown || book.status === shown);
  for (const book of visible) {
    const item = document.createElement('li');
    const title = document.createElement('span');
    title.className = 'title';
    title.textContent = book.title;
    const status = document.createElement('span');
    status.className = 'status ' + book.status.toLowerCase().replace(/ /g, '-');
    status.textContent = book.status;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', 'Remove ' + book.title);
    remove.onclick = () => { books = books.filter((b) => b !== book); save(); render(); };
    item.append(title, status, remove);
    list.append(item);
  }
  const empty = document.getElementById('empty');
  empty.hidden = visible.length > 0;
  empty.textContent = books.length === 0 ? 'No books yet.' : `No books marked "${shown}".`;
}

for (const button of document.querySelectorAll('.filters button')) {
  button.onclick = () => { shown = button.dataset.status; render(); };
}

document.getElementById('add-form').onsubmit = (event) => {
  event.preventDefault();
  const title = document.getElementById('title');
  if (!title.value.trim()) return;
  books.push({ title: title.value.trim(), status: document.getElementById('status').value });
  title.value = '';
  save();
  render();
};
render();
