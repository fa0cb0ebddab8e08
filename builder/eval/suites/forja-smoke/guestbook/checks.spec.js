import { test, expect } from '@playwright/test';

test('Sign the guestbook: the message shows with its name', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Greta Lindqvist');
  await page.getByLabel(/message/i).first().fill('Lovely shop, the cinnamon buns were perfect!');
  await page.getByRole('button', { name: /sign|send|post|submit|add|leave/i }).first().click();
  await expect(page.getByText(/cinnamon buns were perfect/i).first()).toBeVisible();
  await expect(page.getByText(/Greta Lindqvist/).first()).toBeVisible();
});

test('Sign and come back: the message is still there', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Tomasz Nowak');
  await page.getByLabel(/message/i).first().fill('Greetings from Krakow, see you next summer.');
  await page.getByRole('button', { name: /sign|send|post|submit|add|leave/i }).first().click();
  await expect(page.getByText(/Greetings from Krakow/i).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/Greetings from Krakow/i).first()).toBeVisible();
});

test("Sign again: the newest message is above older ones, including another visitor's", async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Amara Okafor');
  await page.getByLabel(/message/i).first().fill('Came back for the sourdough, still the best in town.');
  await page.getByRole('button', { name: /sign|send|post|submit|add|leave/i }).first().click();
  await expect(page.getByText(/Came back for the sourdough/i).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/cinnamon buns were perfect/i).first()).toBeVisible();
  await expect(page.getByText(/Came back for the sourdough|cinnamon buns were perfect/i).first()).toContainText(/sourdough/i);
});
