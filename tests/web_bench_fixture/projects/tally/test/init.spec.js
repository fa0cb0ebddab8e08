const { test, expect } = require('@playwright/test')
const { getOffset, getViewport } = require('@web-bench/test-util')

test.beforeEach(async ({ page }) => {
  await page.goto('/index.html')
})

test('body has no margin', async ({ page }) => {
  const margin = await page.locator('body').evaluate((el) => window.getComputedStyle(el).margin)
  expect(parseInt(margin || '0', 10)).toBe(0)
})

test('title', async ({ page }) => {
  await expect(page.locator('.title')).toHaveText('Tally')
})

test('board fills the width', async ({ page }) => {
  await expect(page.locator('.board')).toBeAttached()
  const board = await getOffset(page, '.board')
  const viewport = await getViewport(page)
  expect(board.width).toBeCloseTo(viewport.width)
})
