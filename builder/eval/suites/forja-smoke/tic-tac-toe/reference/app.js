const LINES = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8],
  [0, 3, 6], [1, 4, 7], [2, 5, 8],
  [0, 4, 8], [2, 4, 6],
];
const board = document.getElementById('board');
const status = document.getElementById('status');

let marks = Array(9).fill('');
let player = 'X';
let over = false;

function winner() {
  for (const [a, b, c] of LINES) {
    if (marks[a] && marks[a] === marks[b] && marks[a] === marks[c]) return { mark: marks[a], line: [a, b, c] };
  }
  return null;
}

function render(line = []) {
  board.replaceChildren(...marks.map((mark, index) => {
    const square = document.createElement('button');
    square.type = 'button';
    square.className = 'square' + (line.includes(index) ? ' won' : '');
    square.textContent = mark;
    square.setAttribute('aria-label', `Row ${Math.floor(index / 3) + 1}, column ${(index % 3) + 1}: ${mark || 'empty'}`);
    square.disabled = over || mark !== '';
    square.addEventListener('click', () => play(index));
    return square;
  }));
}

function play(index) {
  if (over || marks[index]) return;
  marks[index] = player;
  const won = winner();
  if (won) {
    over = true;
    status.textContent = `${won.mark} wins!`;
    render(won.line);
    return;
  }
  if (marks.every(Boolean)) {
    over = true;
    status.textContent = "It's a draw!";
  } else {
    player = player === 'X' ? 'O' : 'X';
    status.textContent = `${player} to play`;
  }
  render();
  // Keep the keyboard user on the board: focus the next free square.
  const next = board.querySelector('button:not(:disabled)');
  if (next && document.activeElement === document.body) next.focus();
}

document.getElementById('restart').addEventListener('click', () => {
  marks = Array(9).fill('');
  player = 'X';
  over = false;
  status.textContent = 'X to play';
  render();
});

render();
