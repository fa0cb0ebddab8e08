import { test, expect } from '@playwright/test';

test('Add a contact and come back: the name and phone are still there', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /name/i }).first().fill('Ana Ribeiro');
  await page.getByRole('textbox', { name: /phone/i }).first().fill('555-0142');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Ana Ribeiro')).toBeVisible();
  await expect(page.getByText('555-0142')).toBeVisible();
  await page.reload();
  await expect(page.getByText('Ana Ribeiro')).toBeVisible();
  await expect(page.getByText('555-0142')).toBeVisible();
});

test('Edit a contact\'s phone: the new number replaces the old one, also after coming back', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /name/i }).first().fill('Marta Quintela');
  await page.getByRole('textbox', { name: /phone/i }).first().fill('555-0101');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('555-0101')).toBeVisible();
  await page.getByRole('button', { name: /edit/i }).first().click();
  await page.getByRole('textbox', { name: /phone/i }).last().fill('555-0199');
  await page.getByRole('button', { name: /save|update/i }).first().click();
  await expect(page.getByText('555-0199')).toBeVisible();
  await expect(page.getByText('555-0101')).toHaveCount(0);
  await page.reload();
  await expect(page.getByText('Marta Quintela')).toBeVisible();
  await expect(page.getByText('555-0199')).toBeVisible();
  await expect(page.getByText('555-0101')).toHaveCount(0);
});

test('Delete a contact: it is gone, also after coming back', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /name/i }).first().fill('Olga Pereira');
  await page.getByRole('textbox', { name: /phone/i }).first().fill('555-0177');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Olga Pereira')).toBeVisible();
  await page.getByRole('button', { name: /delete|remove/i }).first().click();
  await expect(page.getByText('Olga Pereira')).toHaveCount(0);
  await page.reload();
  await expect(page.getByText('Olga Pereira')).toHaveCount(0);
});
