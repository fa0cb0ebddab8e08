const KEY = 'todo-tasks';
const list = document.getElementById('tasks');
let tasks = JSON.parse(localStorage.getItem(KEY) || '[]');

function save() {
  localStorage.setItem(KEY, JSON.stringify(tasks));
}

function render() {
  list.replaceChildren();
  tasks.forEach((task, index) => {
    const item = document.createElement('li');
    item.className = task.done ? 'done' : '';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = task.done;
    box.setAttribute('aria-label', 'Done: ' + task.text);
    box.onchange = () => { task.done = box.checked; save(); render(); };
    const text = document.createElement('span');
    text.textContent = task.text;
    const remove = document.createElement('button');
    remove.textContent = 'Delete';
    remove.onclick = () => { tasks.splice(index, 1); save(); render(); };
    item.append(box, text, remove);
    list.append(item);
  });
}

document.getElementById('add-form').onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById('task');
  tasks.push({ text: input.value.trim(), done: false });
  input.value = '';
  save();
  render();
};
render();
