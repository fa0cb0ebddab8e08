import { test, expect } from '@playwright/test';

test([[ plan_checks[2]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] }).fill('Call the bank');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const item = page.getByRole('listitem').filter({ hasText: 'Call the bank' });
  await item.getByRole('checkbox').check();
  await expect(item.getByRole('checkbox')).toBeChecked();
  await expect(item.getByText('Call the bank')).toHaveClass(/\bdone\b/);
});
