const QUESTIONS = [
  { text: 'Which planet is the largest in the solar system?', answers: ['Saturn', 'Jupiter', 'Neptune', 'Earth'], right: 1 },
  { text: 'Which planet is closest to the Sun?', answers: ['Venus', 'Earth', 'Mercury', 'Mars'], right: 2 },
  { text: 'Which planet is called the Red Planet?', answers: ['Mars', 'Jupiter', 'Venus', 'Mercury'], right: 0 },
  { text: 'Which planet has the most famous rings?', answers: ['Uranus', 'Neptune', 'Jupiter', 'Saturn'], right: 3 },
  { text: 'Which planet is the hottest?', answers: ['Mercury', 'Venus', 'Mars', 'Jupiter'], right: 1 },
];

const form = document.getElementById('question-form');
const result = document.getElementById('result');
const hint = document.getElementById('hint');
const nextButton = document.getElementById('next');
let current = 0;
let score = 0;

function showQuestion() {
  const question = QUESTIONS[current];
  document.getElementById('progress').textContent = `Question ${current + 1} of ${QUESTIONS.length}`;
  document.getElementById('question').textContent = question.text;
  hint.textContent = '';
  nextButton.textContent = current === QUESTIONS.length - 1 ? 'Finish' : 'Next';
  document.getElementById('answers').replaceChildren(...question.answers.map((answer, index) => {
    const label = document.createElement('label');
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'answer';
    radio.value = index;
    label.append(radio, ' ' + answer);
    return label;
  }));
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const chosen = form.querySelector('input[name=answer]:checked');
  if (!chosen) {
    hint.textContent = 'Pick an answer first.';
    return;
  }
  if (Number(chosen.value) === QUESTIONS[current].right) score += 1;
  current += 1;
  if (current < QUESTIONS.length) {
    showQuestion();
    return;
  }
  form.hidden = true;
  result.hidden = false;
  document.getElementById('score').textContent = `You scored ${score} out of ${QUESTIONS.length}.`;
});

document.getElementById('again').addEventListener('click', () => {
  current = 0;
  score = 0;
  result.hidden = true;
  form.hidden = false;
  showQuestion();
});

showQuestion();
