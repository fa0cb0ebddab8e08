import { test, expect } from '@playwright/test';

test('Open the quiz: the first question with four answers', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByText(/largest/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByRole('radio')).toHaveCount(4);
  await expect(page.getByRole('button', { name: /next/i }).first()).toBeVisible();
});

test('Answer all five right: the score is 5 out of 5', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('radio', { name: /jupiter/i }).check();
  await page.getByRole('button', { name: /next|finish|submit|done|score|result/i }).first().click();
  await page.getByRole('radio', { name: /mercury/i }).check();
  await page.getByRole('button', { name: /next|finish|submit|done|score|result/i }).first().click();
  await page.getByRole('radio', { name: /mars/i }).check();
  await page.getByRole('button', { name: /next|finish|submit|done|score|result/i }).first().click();
  await page.getByRole('radio', { name: /saturn/i }).check();
  await page.getByRole('button', { name: /next|finish|submit|done|score|result/i }).first().click();
  await page.getByRole('radio', { name: /venus/i }).check();
  await page.getByRole('button', { name: /next|finish|submit|done|score|result/i }).first().click();
  await expect(page.getByRole('radio')).toHaveCount(0);
  await expect(page.getByText(/\b5\s*(\/|out of|of)\s*5\b/i).filter({ visible: true }).first()).toBeVisible();
});

test('Answer three right and two wrong: the score is 3 out of 5; Play again starts over', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('radio', { name: /jupiter/i }).check();
  await page.getByRole('button', { name: /next|finish|submit|done|score|result/i }).first().click();
  await page.getByRole('radio', { name: /^(?!.*mercury)/i }).first().check();
  await page.getByRole('button', { name: /next|finish|submit|done|score|result/i }).first().click();
  await page.getByRole('radio', { name: /mars/i }).check();
  await page.getByRole('button', { name: /next|finish|submit|done|score|result/i }).first().click();
  await page.getByRole('radio', { name: /^(?!.*saturn)/i }).first().check();
  await page.getByRole('button', { name: /next|finish|submit|done|score|result/i }).first().click();
  await page.getByRole('radio', { name: /venus/i }).check();
  await page.getByRole('button', { name: /next|finish|submit|done|score|result/i }).first().click();
  await expect(page.getByRole('radio')).toHaveCount(0);
  await expect(page.getByText(/\b3\s*(\/|out of|of)\s*5\b/i).filter({ visible: true }).first()).toBeVisible();
  await page.getByRole('button', { name: /again|restart|retry|start over/i }).first().click();
  await expect(page.getByText(/largest/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByRole('radio')).toHaveCount(4);
});
