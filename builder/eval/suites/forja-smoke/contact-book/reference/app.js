const KEY = 'contacts';
let contacts = JSON.parse(localStorage.getItem(KEY) || '[]');
let editing = null; // the id of the contact whose phone is being changed

function save() {
  localStorage.setItem(KEY, JSON.stringify(contacts));
}

function button(text, label, onclick, type = 'button') {
  const b = document.createElement('button');
  b.type = type;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  if (onclick) b.onclick = onclick;
  return b;
}

function render() {
  const list = document.getElementById('contacts');
  list.replaceChildren();
  document.getElementById('empty').hidden = contacts.length > 0;
  const sorted = [...contacts].sort((a, b) => a.name.localeCompare(b.name));
  for (const contact of sorted) {
    const item = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = contact.name;
    item.append(name);
    if (editing === contact.id) {
      const form = document.createElement('form');
      const label = document.createElement('label');
      label.textContent = 'New phone';
      const input = document.createElement('input');
      input.type = 'tel';
      input.value = contact.phone;
      input.required = true;
      label.append(input);
      form.append(label, button('Save', 'Save ' + contact.name, null, 'submit'),
        button('Cancel', 'Cancel editing ' + contact.name, () => { editing = null; render(); }));
      form.onsubmit = (event) => {
        event.preventDefault();
        if (!input.value.trim()) return;
        contact.phone = input.value.trim();
        editing = null;
        save();
        render();
      };
      item.append(form);
      list.append(item);
      input.focus();
      input.select();
      continue;
    }
    const phone = document.createElement('span');
    phone.className = 'phone';
    phone.textContent = contact.phone;
    item.append(phone,
      button('Edit', 'Edit ' + contact.name, () => { editing = contact.id; render(); }),
      button('Delete', 'Delete ' + contact.name, () => {
        contacts = contacts.filter((c) => c.id !== contact.id);
        save();
        render();
      }));
    list.append(item);
  }
}

document.getElementById('add-form').onsubmit = (event) => {
  event.preventDefault();
  const name = document.getElementById('name');
  const phone = document.getElementById('phone');
  if (!name.value.trim() || !phone.value.trim()) return;
  contacts.push({ id: Date.now() + Math.random(), name: name.value.trim(), phone: phone.value.trim() });
  name.value = '';
  phone.value = '';
  name.focus();
  save();
  render();
};
render();
