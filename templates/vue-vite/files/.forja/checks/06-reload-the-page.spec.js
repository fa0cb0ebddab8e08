import { test, expect } from '@playwright/test';

test([[ plan_checks[5]|tojson ]], async ({ page }) => {
  await page.goto('/');
  const box = page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] });
  const add = page.getByRole('button', { name: 'Add', exact: true });
  await box.fill('Call the bank');
  await add.click();
  await box.fill('Buy bread');
  await add.click();
  await expect(page.getByRole('listitem')).toHaveCount(2);
  await page.reload();
  await expect(page.getByRole('listitem')).toHaveCount(2);
  await expect(page.getByRole('listitem').filter({ hasText: 'Call the bank' })).toBeVisible();
  await expect(page.getByRole('listitem').filter({ hasText: 'Buy bread' })).toBeVisible();
});
