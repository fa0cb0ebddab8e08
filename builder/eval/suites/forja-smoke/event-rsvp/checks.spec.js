import { test, expect } from '@playwright/test';

test('RSVP with a name: it is in the list of who is coming, with a count', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Hannah Weber');
  await page.getByRole('button', { name: /coming|rsvp|join|attend|count me|yes/i }).first().click();
  await expect(page.getByText(/Hannah Weber/).first()).toBeVisible();
  await expect(page.getByText(/(?<!\d)[1-9]\d*\s*(people|persons?|guests?|going|coming|attending|rsvps?)|(coming|going|attending|guests?|people|rsvps?|count|total)\W{0,15}[1-9]\d*(?!\d)/i).first()).toBeVisible();
});

test('RSVP and reload: the name is still in the list', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Jonas Keller');
  await page.getByRole('button', { name: /coming|rsvp|join|attend|count me|yes/i }).first().click();
  await expect(page.getByText(/Jonas Keller/).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/Jonas Keller/).first()).toBeVisible();
});

test('Another visitor sees who is coming and how many', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByText(/Hannah Weber/).first()).toBeVisible();
  await expect(page.getByText(/(?<!\d)[1-9]\d*\s*(people|persons?|guests?|going|coming|attending|rsvps?)|(coming|going|attending|guests?|people|rsvps?|count|total)\W{0,15}[1-9]\d*(?!\d)/i).first()).toBeVisible();
  await page.getByRole('textbox').first().fill('Mia Schulz');
  await page.getByRole('button', { name: /coming|rsvp|join|attend|count me|yes/i }).first().click();
  await expect(page.getByText(/Mia Schulz/).first()).toBeVisible();
});
