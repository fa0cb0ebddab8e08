import { test, expect } from '@playwright/test';

// The form opens the visitor's e-mail program with a mailto: link, which no browser check can see open: this checks
// that sending it is answered on the page, and that it writes to the owner's address, the one the page shows.
test([[ plan_checks[2]|tojson ]], async ({ page }) => {
  await page.goto('/');
  const form = page.locator('#contact-form');
  await form.getByLabel('Your name').fill('Ana Lima');
  await form.getByLabel('Your email').fill('ana@example.org');
  await form.getByLabel('Message').fill('Do you bake on Sundays?');
  await form.getByRole('button', { name: 'Send message' }).click();
  await expect(form.getByRole('status')).toHaveText('Your email app should open with the message ready to send.');
  await expect(form).toHaveAttribute('data-email', 'hello@example.com');
  await expect(page.getByRole('link', { name: 'hello@example.com' })).toHaveAttribute('href', 'mailto:hello@example.com');
});
