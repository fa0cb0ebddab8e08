const list = document.getElementById('messages');
const empty = document.getElementById('empty');
const form = document.getElementById('send-form');
const nameInput = document.getElementById('name');
const textInput = document.getElementById('text');
const error = document.getElementById('error');
let lastId = 0;

nameInput.value = localStorage.getItem('chat-name') || '';

function show(message) {
  const item = document.createElement('li');
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = message.name;
  const text = document.createElement('span');
  text.textContent = message.text;
  const time = document.createElement('time');
  time.dateTime = message.sentAt;
  time.textContent = new Date(message.sentAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  item.append(who, text, time);
  list.append(item);
  lastId = Math.max(lastId, message.id);
}

async function refresh() {
  try {
    const response = await fetch(`/api/messages?after=${lastId}`);
    const messages = await response.json();
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
    messages.filter((m) => m.id > lastId).forEach(show);
    empty.hidden = list.children.length > 0;
    if (messages.length && atBottom) list.scrollTop = list.scrollHeight;
  } catch {
    // offline for a moment: the next poll tries again
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.textContent = '';
  const name = nameInput.value.trim();
  const text = textInput.value.trim();
  if (!name || !text) return;
  localStorage.setItem('chat-name', name);
  const response = await fetch('/api/messages', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, text }),
  });
  if (!response.ok) {
    error.textContent = (await response.json().catch(() => ({}))).error || 'The message could not be sent.';
    return;
  }
  textInput.value = '';
  await refresh();
  list.scrollTop = list.scrollHeight;
  textInput.focus();
});

refresh();
setInterval(refresh, 2000);
