const KEY = 'team-lunch-poll';
const OPTIONS = ['Pizza', 'Sushi', 'Tacos'];
const saved = JSON.parse(localStorage.getItem(KEY) || '{}');
const votes = Object.fromEntries(OPTIONS.map((option) => [option, Number(saved[option]) || 0]));

function render() {
  const total = OPTIONS.reduce((sum, option) => sum + votes[option], 0);
  const list = document.getElementById('results');
  list.replaceChildren();
  for (const option of OPTIONS) {
    const item = document.createElement('li');
    const row = document.createElement('div');
    row.className = 'row';
    const name = document.createElement('span');
    name.textContent = option;
    const count = document.createElement('span');
    count.textContent = `${votes[option]} vote${votes[option] === 1 ? '' : 's'}`;
    row.append(name, count);
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('span');
    fill.style.width = total ? `${(votes[option] / total) * 100}%` : '0';
    bar.append(fill);
    item.append(row, bar);
    list.append(item);
  }
  document.getElementById('total').textContent = `${total} vote${total === 1 ? '' : 's'} in all`;
}

document.getElementById('vote-form').onsubmit = (event) => {
  event.preventDefault();
  const chosen = document.querySelector('input[name=choice]:checked');
  const message = document.getElementById('message');
  if (!chosen) {
    message.textContent = 'Pick an option first.';
    return;
  }
  votes[chosen.value] += 1;
  localStorage.setItem(KEY, JSON.stringify(votes));
  chosen.checked = false;
  message.textContent = `Thanks! Your vote for ${chosen.value} is counted. Next person, go ahead.`;
  render();
};
render();
