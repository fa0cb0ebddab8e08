const base = document.getElementById('base');
const palette = document.getElementById('palette');
const message = document.getElementById('message');

function hexToHsl(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  let h;
  if (max === r) h = (g - b) / d + (g < b ? 6 : 0);
  else if (max === g) h = (b - r) / d + 2;
  else h = (r - g) / d + 4;
  return [h * 60, s, l];
}

function hslToHex(h, s, l) {
  h = ((h % 360) + 360) % 360;
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return '#' + [r, g, b].map((v) => Math.round((v + m) * 255).toString(16).padStart(2, '0')).join('').toUpperCase();
}

const clamp = (v) => Math.min(0.92, Math.max(0.12, v));

// The base, its two neighbours on the colour wheel, a lighter tint and its complement.
function paletteFor(hex) {
  const [h, s, l] = hexToHsl(hex);
  return [
    hex.toUpperCase(),
    hslToHex(h + 30, s, l),
    hslToHex(h - 30, s, l),
    hslToHex(h, s, clamp(l + 0.25)),
    hslToHex(h + 180, s, l),
  ];
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Older browsers, or no clipboard permission: copy from a selected text field.
    const field = document.createElement('textarea');
    field.value = text;
    document.body.append(field);
    field.select();
    const done = document.execCommand('copy');
    field.remove();
    return done;
  }
}

function render() {
  message.textContent = '';
  palette.replaceChildren(...paletteFor(base.value).map((hex) => {
    const item = document.createElement('li');
    const swatch = document.createElement('div');
    swatch.className = 'swatch';
    swatch.style.background = hex;
    const code = document.createElement('code');
    code.textContent = hex;
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy ' + hex);
    button.addEventListener('click', async () => {
      if (await copy(hex)) {
        button.textContent = 'Copied!';
        message.textContent = `Copied ${hex}`;
        setTimeout(() => { button.textContent = 'Copy'; }, 1500);
      } else {
        message.textContent = `Could not copy: select ${hex} and press Ctrl+C.`;
      }
    });
    item.append(swatch, code, button);
    return item;
  }));
}

base.addEventListener('input', render);
render();
