const items = document.querySelector('.items')
const count = document.querySelector('.count')

function recount() {
  const n = items.children.length
  count.textContent = `${n} ${n === 1 ? 'item' : 'items'}`
}

document.querySelector('.add').addEventListener('click', () => {
  const item = document.createElement('li')
  item.className = 'item'
  item.textContent = `Item ${items.children.length + 1}`
  items.append(item)
  recount()
})

document.querySelector('.clear').addEventListener('click', () => {
  if (window.confirm('Remove every item?')) {
    items.replaceChildren()
    recount()
  }
})
