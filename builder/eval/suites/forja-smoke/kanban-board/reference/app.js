const KEY = 'kanban-cards';
const COLUMNS = ['To do', 'Doing', 'Done'];
let cards = JSON.parse(localStorage.getItem(KEY) || '[]');

function save() {
  localStorage.setItem(KEY, JSON.stringify(cards));
}

function render() {
  const board = document.getElementById('board');
  board.replaceChildren();
  for (const column of COLUMNS) {
    const section = document.createElement('section');
    section.className = 'column';
    section.setAttribute('aria-label', column);
    const heading = document.createElement('h2');
    const here = cards.filter((card) => card.column === column);
    heading.textContent = `${column} (${here.length})`;
    const list = document.createElement('ul');
    for (const card of here) {
      const item = document.createElement('li');
      item.className = 'card';
      const title = document.createElement('p');
      title.textContent = card.title;
      const actions = document.createElement('div');
      actions.className = 'actions';
      for (const other of COLUMNS.filter((c) => c !== column)) {
        const move = document.createElement('button');
        move.type = 'button';
        move.textContent = '→ ' + other;
        move.setAttribute('aria-label', `Move "${card.title}" to ${other}`);
        move.onclick = () => { card.column = other; save(); render(); };
        actions.append(move);
      }
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = 'Delete';
      remove.setAttribute('aria-label', `Delete "${card.title}"`);
      remove.onclick = () => { cards = cards.filter((c) => c !== card); save(); render(); };
      actions.append(remove);
      item.append(title, actions);
      list.append(item);
    }
    section.append(heading, list);
    if (here.length === 0) {
      const empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = 'No cards';
      section.append(empty);
    }
    board.append(section);
  }
}

document.getElementById('add-form').onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById('title');
  const title = input.value.trim();
  if (!title) return;
  cards.push({ title, column: 'To do' });
  input.value = '';
  save();
  render();
};
render();
