const KM_PER_MILE = 1.609344;
const km = document.getElementById('km');
const miles = document.getElementById('miles');

// At most three decimals, without trailing zeros: 62.137, 16.093, 5.
const show = (value) => String(Math.round(value * 1000) / 1000);

function convert(from, to, factor) {
  if (from.value.trim() === '' || Number.isNaN(Number(from.value))) {
    to.value = '';
    return;
  }
  to.value = show(Number(from.value) * factor);
}

km.addEventListener('input', () => convert(km, miles, 1 / KM_PER_MILE));
miles.addEventListener('input', () => convert(miles, km, KM_PER_MILE));
