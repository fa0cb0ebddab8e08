const fields = ['bill', 'percent', 'people'].map((id) => document.getElementById(id));
const money = (cents) => '$' + (cents / 100).toFixed(2);

function update() {
  const [bill, percent, people] = fields.map((field) => Number(field.value));
  const error = document.getElementById('error');
  error.textContent = '';
  if (!(bill >= 0) || !(percent >= 0) || !(people >= 1) || !Number.isInteger(people)) {
    error.textContent = 'Enter a bill, a tip percentage and a whole number of people (1 or more).';
    return;
  }
  // Work in cents so that 84 × 15% is exactly 12.60.
  const billCents = Math.round(bill * 100);
  const tipCents = Math.round((billCents * percent) / 100);
  const totalCents = billCents + tipCents;
  document.getElementById('tip').textContent = money(tipCents);
  document.getElementById('total').textContent = money(totalCents);
  document.getElementById('each').textContent = money(Math.round(totalCents / people));
}

fields.forEach((field) => field.addEventListener('input', update));
document.getElementById('form').addEventListener('submit', (event) => event.preventDefault());
update();
