const fs = require('fs')
const path = require('path')
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

/** Whether the app's code has this file: under EVAL_PROJECT_ROOT when the runner sets it, else `srcPath`. */
function isExisted(filePath, srcPath) {
  return fs.existsSync(path.join(process.env.EVAL_PROJECT_ROOT || srcPath, filePath))
}

module.exports = { getOffset, getViewport, expectCount, isExisted }
