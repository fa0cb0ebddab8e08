const KEY = 'shopping-items';
const list = document.getElementById('items');
let items = JSON.parse(localStorage.getItem(KEY) || '[]');

function save() {
  localStorage.setItem(KEY, JSON.stringify(items));
}

function render() {
  list.replaceChildren();
  document.getElementById('empty').hidden = items.length > 0;
  document.getElementById('clear').disabled = !items.some((item) => item.bought);
  items.forEach((item) => {
    const row = document.createElement('li');
    row.className = item.bought ? 'bought' : '';
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = item.bought;
    box.onchange = () => { item.bought = box.checked; save(); render(); };
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = item.name;
    label.append(box, name);
    const quantity = document.createElement('span');
    quantity.className = 'quantity';
    quantity.textContent = '× ' + item.quantity;
    row.append(label, quantity);
    list.append(row);
  });
}

document.getElementById('add-form').onsubmit = (event) => {
  event.preventDefault();
  const name = document.getElementById('item');
  const quantity = document.getElementById('quantity');
  if (!name.value.trim()) return;
  items.push({ name: name.value.trim(), quantity: Math.max(1, Math.round(Number(quantity.value) || 1)), bought: false });
  name.value = '';
  quantity.value = '1';
  name.focus();
  save();
  render();
};

document.getElementById('clear').onclick = () => {
  items = items.filter((item) => !item.bought);
  save();
  render();
};
render();
