const PICTURES = ['🍎', '🚗', '🐱', '🌙', '⚽', '🎈', '🌵', '🐟'];
const grid = document.getElementById('grid');
const movesText = document.getElementById('moves');
const status = document.getElementById('status');

let cards = []; // { picture, up, matched }
let open = []; // indexes of the (at most two) cards turned over and not yet matched
let moves = 0;
let busy = false; // while a wrong pair is showing

function shuffle(items) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function newGame() {
  cards = shuffle([...PICTURES, ...PICTURES]).map((picture) => ({ picture, up: false, matched: false }));
  open = [];
  moves = 0;
  busy = false;
  status.textContent = '';
  render();
}

function render() {
  movesText.textContent = moves;
  grid.replaceChildren(...cards.map((card, index) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'card' + (card.up ? ' up' : '') + (card.matched ? ' matched' : '');
    button.textContent = card.up ? card.picture : '?';
    button.disabled = card.up;
    button.addEventListener('click', () => turn(index));
    return button;
  }));
}

function turn(index) {
  const card = cards[index];
  if (busy || card.up) return;
  card.up = true;
  open.push(index);
  if (open.length === 2) {
    moves += 1;
    const [a, b] = open.map((i) => cards[i]);
    if (a.picture === b.picture) {
      a.matched = b.matched = true;
      open = [];
      if (cards.every((c) => c.matched)) status.textContent = `You found all pairs in ${moves} moves!`;
    } else {
      busy = true;
      setTimeout(() => {
        a.up = b.up = false;
        open = [];
        busy = false;
        render();
      }, 900);
    }
  }
  render();
}

document.getElementById('new-game').addEventListener('click', newGame);
newGame();
