import { test, expect } from '@playwright/test';

test('Book a date and time: the booking is listed', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Marco Rossi');
  await page.getByLabel(/date|day/i).first().fill('2032-03-10');
  await page.getByLabel(/time|hour/i).first().fill('10:00');
  await page.getByRole('button', { name: /book|reserve|confirm/i }).first().click();
  await expect(page.getByText(/Marco Rossi/).first()).toBeVisible();
});

test('Book and come back: the booking is still listed', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Giulia Conti');
  await page.getByLabel(/date|day/i).first().fill('2032-03-11');
  await page.getByLabel(/time|hour/i).first().fill('11:00');
  await page.getByRole('button', { name: /book|reserve|confirm/i }).first().click();
  await expect(page.getByText(/Giulia Conti/).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/Giulia Conti/).first()).toBeVisible();
});

test('Book a slot already taken: the page says so and does not list the second booking', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Luca Bianchi');
  await page.getByLabel(/date|day/i).first().fill('2032-03-17');
  await page.getByLabel(/time|hour/i).first().fill('15:00');
  await page.getByRole('button', { name: /book|reserve|confirm/i }).first().click();
  await expect(page.getByText(/Luca Bianchi/).first()).toBeVisible();
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Pietro Neri');
  await page.getByLabel(/date|day/i).first().fill('2032-03-17');
  await page.getByLabel(/time|hour/i).first().fill('15:00');
  await page.getByRole('button', { name: /book|reserve|confirm/i }).first().click();
  await expect(page.getByText(/taken|already|not available|unavailable/i).first()).toBeVisible();
  await page.goto('/');
  await expect(page.getByText(/Pietro Neri/)).toHaveCount(0);
});

test('Another visitor sees the bookings and cannot take a booked slot', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByText(/Marco Rossi/).first()).toBeVisible();
  await page.getByLabel(/name/i).first().fill('Anna Verdi');
  await page.getByLabel(/date|day/i).first().fill('2032-03-10');
  await page.getByLabel(/time|hour/i).first().fill('10:00');
  await page.getByRole('button', { name: /book|reserve|confirm/i }).first().click();
  await expect(page.getByText(/taken|already|not available|unavailable/i).first()).toBeVisible();
  await page.goto('/');
  await expect(page.getByText(/Anna Verdi/)).toHaveCount(0);
});
