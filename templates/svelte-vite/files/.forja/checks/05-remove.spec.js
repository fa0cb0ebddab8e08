import { test, expect } from '@playwright/test';

test([[ plan_checks[4]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] }).fill([[ examples[0]|tojson ]]);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const item = page.getByRole('listitem').filter({ hasText: [[ examples[0]|tojson ]] });
  await expect(item).toHaveCount(1);
  await item.getByRole('button', { name: /Remove/ }).click();
  await expect(item).toHaveCount(0);
  await expect(page.getByText([[ examples[0]|tojson ]], { exact: true })).toBeHidden();
});
