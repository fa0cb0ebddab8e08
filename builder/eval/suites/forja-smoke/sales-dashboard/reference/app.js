const KEY = 'monthly-sales';
const START = [
  { month: 'Jan', sales: 1200 },
  { month: 'Feb', sales: 950 },
  { month: 'Mar', sales: 1430 },
  { month: 'Apr', sales: 1100 },
  { month: 'May', sales: 1600 },
  { month: 'Jun', sales: 1320 },
];
const SVG = 'http://www.w3.org/2000/svg';
let months = JSON.parse(localStorage.getItem(KEY) || 'null') || START.map((m) => ({ ...m }));

function save() {
  localStorage.setItem(KEY, JSON.stringify(months));
}

function money(value) {
  return value.toLocaleString('en-US');
}

function element(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawChart() {
  const chart = document.getElementById('chart');
  chart.replaceChildren();
  const width = 640, height = 300, left = 50, bottom = 30, top = 20;
  const highest = Math.max(1, ...months.map((m) => m.sales));
  const step = (width - left - 10) / Math.max(1, months.length);
  const scale = (height - bottom - top) / highest;
  chart.append(element('line', { x1: left, y1: height - bottom, x2: width - 10, y2: height - bottom, stroke: '#999' }));
  months.forEach((m, index) => {
    const barHeight = m.sales * scale;
    const x = left + index * step + step * 0.15;
    const bar = element('rect', { class: 'bar', x, y: height - bottom - barHeight, width: step * 0.7, height: barHeight });
    bar.append(element('title', {}, `${m.month}: ${money(m.sales)}`));
    chart.append(bar);
    chart.append(element('text', { x: x + step * 0.35, y: height - bottom + 16, 'text-anchor': 'middle' }, m.month));
    chart.append(element('text', { x: x + step * 0.35, y: height - bottom - barHeight - 4, 'text-anchor': 'middle' }, money(m.sales)));
  });
}

function render() {
  const total = months.reduce((sum, m) => sum + m.sales, 0);
  document.getElementById('total').textContent = money(total);
  document.getElementById('count').textContent = String(months.length);
  const best = months.reduce((a, b) => (b.sales > a.sales ? b : a), months[0]);
  document.getElementById('best').textContent = best ? `${best.month} (${money(best.sales)})` : '–';
  drawChart();
}

document.getElementById('add-form').onsubmit = (event) => {
  event.preventDefault();
  const month = document.getElementById('month');
  const sales = document.getElementById('sales');
  const value = Number(sales.value);
  if (!month.value.trim() || !Number.isFinite(value) || value < 0) return;
  const name = month.value.trim();
  const existing = months.find((m) => m.month.toLowerCase() === name.toLowerCase());
  if (existing) existing.sales = value;
  else months.push({ month: name, sales: value });
  month.value = '';
  sales.value = '';
  save();
  render();
};

document.getElementById('reset').onclick = () => {
  months = START.map((m) => ({ ...m }));
  save();
  render();
};
render();
