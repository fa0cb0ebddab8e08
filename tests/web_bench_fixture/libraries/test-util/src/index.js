const { expect } = require('@playwright/test')

/** Where an element is on the page, in CSS pixels. */
async function getOffset(page, selector) {
  return page
    .locator(selector)
    .first()
    .evaluate((el) => {
      const rect = el.getBoundingClientRect()
      return { left: rect.left, top: rect.top, width: rect.width, height: rect.height }
    })
}

async function getViewport(page) {
  return page.evaluate(() => ({
    width: document.documentElement.clientWidth,
    height: document.documentElement.clientHeight,
  }))
}

async function expectCount(page, selector, count) {
  await expect(page.locator(selector)).toHaveCount(count)
}

module.exports = { getOffset, getViewport, expectCount }
