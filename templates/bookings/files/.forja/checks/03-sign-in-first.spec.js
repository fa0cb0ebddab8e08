import { test, expect } from '@playwright/test';

test([[ plan_checks[2]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Day').selectOption({ index: 1 });
  await page.getByText('10:00', { exact: true }).click();
  await page.getByLabel('Your name').fill('Sam');
  await page.getByRole('button', { name: 'Book', exact: true }).click();
  // Where Forja serves the app it offers its sign-in page; served alone, the page says sign-in needs Forja.
  await expect(page.getByRole('status')).toHaveText(/^(Sign in first to book\. Sign in|Sign-in and booking work where Forja serves this app)/);
});
