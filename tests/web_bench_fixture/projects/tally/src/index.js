import { addItem } from './common/items.js'

const items = document.querySelector('.items')
const count = document.querySelector('.count')

function recount() {
  const n = items.children.length
  count.textContent = `${n} ${n === 1 ? 'item' : 'items'}`
}

document.querySelector('.add').addEventListener('click', () => {
  addItem(items)
  recount()
})

document.querySelector('.clear').addEventListener('click', () => {
  if (window.confirm('Remove every item?')) {
    items.replaceChildren()
    recount()
  }
})
