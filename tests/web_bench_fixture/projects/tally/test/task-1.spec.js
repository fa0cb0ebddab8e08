const { test, expect } = require('@playwright/test')
const path = require('path')
const { expectCount, isExisted } = require('@web-bench/test-util')

test.beforeEach(async ({ page }) => {
  await page.goto('/index.html')
})

test('add appends numbered items', async ({ page }) => {
  const add = page.locator('.board button:text("add")')
  for (let i = 0; i < 3; i++) {
    await add.click()
  }
  await expectCount(page, '.items .item', 3)
  await expect(page.locator('.items .item').nth(2)).toHaveText('Item 3')
})

test('common/items.js', async () => {
  expect(isExisted('common/items.js', path.join(__dirname, '../src'))).toBeTruthy()
})
