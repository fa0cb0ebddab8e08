import { test, expect } from '@playwright/test';

test([[ plan_checks[5]|tojson ]], async ({ page }) => {
  await page.goto('/');
  const box = page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] });
  const add = page.getByRole('button', { name: 'Add', exact: true });
  await box.fill([[ examples[0]|tojson ]]);
  await add.click();
  await box.fill([[ examples[1]|tojson ]]);
  await add.click();
  await expect(page.getByRole('listitem')).toHaveCount(2);
  await page.reload();
  await expect(page.getByRole('listitem')).toHaveCount(2);
  await expect(page.getByRole('listitem').filter({ hasText: [[ examples[0]|tojson ]] })).toBeVisible();
  await expect(page.getByRole('listitem').filter({ hasText: [[ examples[1]|tojson ]] })).toBeVisible();
});
