// Habits and the days each was done on, by date (YYYY-MM-DD, local time): a tick is for today only.
const KEY = 'habits';
const list = document.getElementById('habits');
let habits = JSON.parse(localStorage.getItem(KEY) || '[]');

function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function save() {
  localStorage.setItem(KEY, JSON.stringify(habits));
}

function render() {
  const day = today();
  document.getElementById('today').textContent = 'Today: ' + new Date().toLocaleDateString();
  document.getElementById('empty').hidden = habits.length > 0;
  list.replaceChildren();
  habits.forEach((habit, index) => {
    const done = habit.days.includes(day);
    const item = document.createElement('li');
    item.className = done ? 'done' : '';
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = done;
    box.onchange = () => {
      habit.days = habit.days.filter((d) => d !== day);
      if (box.checked) habit.days.push(day);
      save();
      render();
    };
    const name = document.createElement('span');
    name.textContent = habit.name;
    label.append(box, name);
    const count = document.createElement('small');
    count.textContent = `${habit.days.length} day${habit.days.length === 1 ? '' : 's'}`;
    const remove = document.createElement('button');
    remove.textContent = 'Delete';
    remove.setAttribute('aria-label', 'Delete ' + habit.name);
    remove.onclick = () => { habits.splice(index, 1); save(); render(); };
    item.append(label, count, remove);
    list.append(item);
  });
}

document.getElementById('add-form').onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById('habit');
  const name = input.value.trim();
  if (!name) return;
  habits.push({ name, days: [] });
  input.value = '';
  save();
  render();
};
render();
