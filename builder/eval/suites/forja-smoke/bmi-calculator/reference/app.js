function category(bmi) {
  if (bmi < 18.5) return ['Underweight', 'under'];
  if (bmi < 25) return ['Normal', 'normal'];
  if (bmi < 30) return ['Overweight', 'over'];
  return ['Obese', 'obese'];
}

document.getElementById('form').addEventListener('submit', (event) => {
  event.preventDefault();
  const metres = Number(document.getElementById('height').value) / 100;
  const kilograms = Number(document.getElementById('weight').value);
  if (!(metres > 0) || !(kilograms > 0)) return;
  // Categories use the BMI as shown, rounded to one decimal (24.96 shows as 25.0: overweight).
  const bmi = Math.round((kilograms / (metres * metres)) * 10) / 10;
  const [name, kind] = category(bmi);
  document.getElementById('bmi').textContent = bmi.toFixed(1);
  const label = document.getElementById('category');
  label.textContent = name;
  label.className = kind;
  document.getElementById('result').hidden = false;
});
