const minutesInput = document.getElementById('minutes');
const secondsInput = document.getElementById('seconds');
const display = document.getElementById('display');
const done = document.getElementById('done');
const startButton = document.getElementById('start');
const pauseButton = document.getElementById('pause');

let setSeconds = 300; // the time that was set
let left = 300; // seconds left
let endsAt = null; // when running: the moment it reaches 0
let ticker = null;

function format(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m + ':' + String(s).padStart(2, '0');
}

function render() {
  display.textContent = format(left);
  startButton.disabled = ticker !== null || left === 0;
  pauseButton.disabled = ticker === null;
}

function readInputs() {
  const m = Math.max(0, Math.floor(Number(minutesInput.value) || 0));
  const s = Math.max(0, Math.floor(Number(secondsInput.value) || 0));
  return m * 60 + s;
}

function stopTicking() {
  clearInterval(ticker);
  ticker = null;
}

function tick() {
  left = Math.max(0, Math.ceil((endsAt - Date.now()) / 1000));
  if (left === 0) {
    stopTicking();
    done.textContent = "Time's up!";
  }
  render();
}

// Changing the inputs while stopped sets a new time.
[minutesInput, secondsInput].forEach((input) => input.addEventListener('input', () => {
  if (ticker !== null) return;
  setSeconds = readInputs();
  left = setSeconds;
  done.textContent = '';
  render();
}));

startButton.addEventListener('click', () => {
  if (ticker !== null || left === 0) return;
  done.textContent = '';
  endsAt = Date.now() + left * 1000;
  ticker = setInterval(tick, 200);
  render();
});

pauseButton.addEventListener('click', () => {
  if (ticker === null) return;
  tick();
  stopTicking();
  render();
});

document.getElementById('reset').addEventListener('click', () => {
  stopTicking();
  left = setSeconds;
  done.textContent = '';
  render();
});

setSeconds = left = readInputs();
render();
