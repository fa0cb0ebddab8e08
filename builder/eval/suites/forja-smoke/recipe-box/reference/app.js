const KEY = 'recipes';
let recipes = JSON.parse(localStorage.getItem(KEY) || '[]');
let openId = null;

function save() {
  localStorage.setItem(KEY, JSON.stringify(recipes));
}

function render() {
  const list = document.getElementById('recipes');
  list.replaceChildren();
  document.getElementById('empty').hidden = recipes.length > 0;
  for (const recipe of recipes) {
    const item = document.createElement('li');
    const open = document.createElement('button');
    open.type = 'button';
    open.textContent = recipe.name;
    open.setAttribute('aria-current', String(recipe.id === openId));
    open.onclick = () => { openId = recipe.id; render(); };
    item.append(open);
    list.append(item);
  }
  const recipe = recipes.find((r) => r.id === openId);
  const panel = document.getElementById('recipe');
  panel.hidden = !recipe;
  if (!recipe) return;
  document.getElementById('recipe-name').textContent = recipe.name;
  const ingredients = document.getElementById('recipe-ingredients');
  ingredients.replaceChildren();
  for (const ingredient of recipe.ingredients) {
    const item = document.createElement('li');
    item.textContent = ingredient;
    ingredients.append(item);
  }
}

document.getElementById('recipe-form').onsubmit = (event) => {
  event.preventDefault();
  const name = document.getElementById('name');
  const ingredients = document.getElementById('ingredients');
  const parts = ingredients.value.split(/[\n,]/).map((part) => part.trim()).filter(Boolean);
  if (!name.value.trim() || parts.length === 0) return;
  recipes.push({ id: Date.now() + Math.random(), name: name.value.trim(), ingredients: parts });
  name.value = '';
  ingredients.value = '';
  save();
  render();
};

document.getElementById('delete').onclick = () => {
  recipes = recipes.filter((r) => r.id !== openId);
  openId = null;
  save();
  render();
};
render();
