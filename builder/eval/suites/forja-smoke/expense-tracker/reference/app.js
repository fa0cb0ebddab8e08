const KEY = 'expenses';
const list = document.getElementById('expenses');
const total = document.getElementById('total');
let expenses = JSON.parse(localStorage.getItem(KEY) || '[]');

function save() {
  localStorage.setItem(KEY, JSON.stringify(expenses));
}

function render() {
  list.replaceChildren();
  expenses.forEach((expense, index) => {
    const item = document.createElement('li');
    const what = document.createElement('span');
    what.textContent = expense.description;
    const amount = document.createElement('span');
    amount.textContent = expense.amount.toFixed(2);
    const remove = document.createElement('button');
    remove.textContent = 'Delete';
    remove.setAttribute('aria-label', 'Delete ' + expense.description);
    remove.onclick = () => { expenses.splice(index, 1); save(); render(); };
    item.append(what, amount, remove);
    list.append(item);
  });
  const sum = expenses.reduce((acc, expense) => acc + Math.round(expense.amount * 100), 0);
  total.textContent = (sum / 100).toFixed(2);
}

document.getElementById('add-form').onsubmit = (event) => {
  event.preventDefault();
  const description = document.getElementById('description');
  const amount = document.getElementById('amount');
  const value = Number(amount.value);
  if (!description.value.trim() || !Number.isFinite(value)) return;
  expenses.push({ description: description.value.trim(), amount: value });
  description.value = '';
  amount.value = '';
  description.focus();
  save();
  render();
};
render();
