import { test, expect } from '@playwright/test';

test([[ plan_checks[4]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] }).fill('Call the bank');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const item = page.getByRole('listitem').filter({ hasText: 'Call the bank' });
  await expect(item).toHaveCount(1);
  await item.getByRole('button', { name: /Remove/ }).click();
  await expect(item).toHaveCount(0);
  await expect(page.getByText('Call the bank')).toBeHidden();
});
