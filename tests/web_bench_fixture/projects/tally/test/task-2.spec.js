const { test, expect } = require('@playwright/test')
const { expectCount } = require('@web-bench/test-util')

test.beforeEach(async ({ page }) => {
  await page.goto('/index.html')
})

test('count', async ({ page }) => {
  await expect(page.locator('.count')).toHaveText('0 items')
  await page.locator('button:text("add")').click()
  await expect(page.locator('.count')).toHaveText('1 item')
})

test('clear asks first', async ({ page }) => {
  await page.locator('button:text("add")').click()
  page.once('dialog', (dialog) => dialog.dismiss())
  await page.locator('button:text("clear")').click()
  await expectCount(page, '.item', 1)
  page.once('dialog', (dialog) => dialog.accept())
  await page.locator('button:text("clear")').click()
  await expectCount(page, '.item', 0)
  await expect(page.locator('.count')).toHaveText('0 items')
})
