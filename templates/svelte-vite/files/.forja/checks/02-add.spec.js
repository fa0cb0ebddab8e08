import { test, expect } from '@playwright/test';

test([[ plan_checks[1]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] }).fill([[ examples[0]|tojson ]]);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByRole('listitem')).toHaveCount(1);
  await expect(page.getByRole('listitem')).toContainText([[ examples[0]|tojson ]]);
});
