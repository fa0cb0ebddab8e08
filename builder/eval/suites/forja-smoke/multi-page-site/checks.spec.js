import { test, expect } from '@playwright/test';

test('Open the home page: the bakery name and a navigation bar', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: /golden crust|welcome/i }).first()).toBeVisible();
  await expect(page.getByRole('link', { name: /menu/i }).first()).toBeVisible();
  await expect(page.getByRole('link', { name: /contact/i }).first()).toBeVisible();
});

test('Click Menu: the menu page, with prices', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: /menu/i }).first().click();
  await expect(page).toHaveURL(/menu/i);
  await expect(page.getByRole('heading', { name: /menu|bread|cake/i }).first()).toBeVisible();
  await expect(page.getByText(/[$€£]\s?\d|\d[.,]\d\d/).filter({ visible: true }).first()).toBeVisible();
});

test('Click Contact, then Home: each page opens with its own heading', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: /contact/i }).first().click();
  await expect(page).toHaveURL(/contact/i);
  await expect(page.getByRole('heading', { name: /contact|get in touch|find us|visit/i }).first()).toBeVisible();
  await expect(page.getByText(/mill lane/i).filter({ visible: true }).first()).toBeVisible();
  await page.getByRole('link', { name: /home/i }).first().click();
  await expect(page).toHaveURL(/\/(index\.html)?$/);
  await expect(page.getByRole('heading', { name: /golden crust|welcome/i }).first()).toBeVisible();
});

test('The navigation is on every page: Menu to Contact and back to Menu', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: /menu/i }).first().click();
  await expect(page).toHaveURL(/menu/i);
  await page.getByRole('link', { name: /contact/i }).first().click();
  await expect(page).toHaveURL(/contact/i);
  await page.getByRole('link', { name: /menu/i }).first().click();
  await expect(page).toHaveURL(/menu/i);
});
