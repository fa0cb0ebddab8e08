export function addItem(items) {
  const item = document.createElement('li')
  item.className = 'item'
  item.textContent = `Item ${items.children.length + 1}`
  items.append(item)
}
