import { test, expect } from '@playwright/test';

test('Shorten an address: the short link shows with its long address', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /long|url|address|link|paste/i }).first().fill('/about?ref=winter-flyer');
  await page.getByRole('textbox', { name: /name|alias|code|custom/i }).first().fill('winter-deal');
  await page.getByRole('button', { name: /shorten|create|save|add|make/i }).first().click();
  await expect(page.getByRole('link', { name: /winter-deal/i }).first()).toBeVisible();
  await expect(page.getByText(/ref=winter-flyer/).first()).toBeVisible();
});

test('Shorten and come back: the short link is still listed', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /long|url|address|link|paste/i }).first().fill('/about?ref=spring-flyer');
  await page.getByRole('textbox', { name: /name|alias|code|custom/i }).first().fill('spring-deal');
  await page.getByRole('button', { name: /shorten|create|save|add|make/i }).first().click();
  await expect(page.getByRole('link', { name: /spring-deal/i }).first()).toBeVisible();
  await page.reload();
  await expect(page.getByRole('link', { name: /spring-deal/i }).first()).toBeVisible();
  await expect(page.getByText(/ref=spring-flyer/).first()).toBeVisible();
});

test("Open short links, another visitor's too: they land on the long address", async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /long|url|address|link|paste/i }).first().fill('/about?ref=summer-flyer');
  await page.getByRole('textbox', { name: /name|alias|code|custom/i }).first().fill('summer-deal');
  await page.getByRole('button', { name: /shorten|create|save|add|make/i }).first().click();
  await expect(page.getByRole('link', { name: /summer-deal/i }).first()).toBeVisible();
  await page.goto('/summer-deal');
  await expect(page).toHaveURL(/\/about\?ref=summer-flyer/);
  await page.goto('/winter-deal');
  await expect(page).toHaveURL(/\/about\?ref=winter-flyer/);
});
