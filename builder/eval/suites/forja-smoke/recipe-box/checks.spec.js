import { test, expect } from '@playwright/test';

test('Save a recipe and open it: its ingredients show', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Lemon pancakes');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('2 eggs, 200 g flour, 300 ml milk, 1 lemon');
  await page.getByRole('button', { name: /save|add/i }).first().click();
  await expect(page.getByText('Lemon pancakes').first()).toBeVisible();
  await page.getByText('Lemon pancakes').first().click();
  await expect(page.getByText(/200 g flour/i).first()).toBeVisible();
});

test('Two recipes: opening each shows its own ingredients', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Tomato soup');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('6 tomatoes, 1 onion, 1 garlic clove');
  await page.getByRole('button', { name: /save|add/i }).first().click();
  await expect(page.getByText('Tomato soup').first()).toBeVisible();
  await page.getByRole('textbox').first().fill('Fruit salad');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('1 mango, 2 kiwis, a handful of grapes');
  await page.getByRole('button', { name: /save|add/i }).first().click();
  await expect(page.getByText('Fruit salad').first()).toBeVisible();
  await page.getByText('Tomato soup').first().click();
  await expect(page.getByText(/6 tomatoes/i).first()).toBeVisible();
  await page.getByText('Fruit salad').first().click();
  await expect(page.getByText(/1 mango/i).first()).toBeVisible();
});

test('Save a recipe and come back: it is still there with its ingredients', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Banana bread');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('3 ripe bananas, 250 g flour, 100 g butter');
  await page.getByRole('button', { name: /save|add/i }).first().click();
  await expect(page.getByText('Banana bread').first()).toBeVisible();
  await page.reload();
  await expect(page.getByText('Banana bread').first()).toBeVisible();
  await page.getByText('Banana bread').first().click();
  await expect(page.getByText(/3 ripe bananas/i).first()).toBeVisible();
});
