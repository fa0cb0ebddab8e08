import { test, expect } from '@playwright/test';

test([[ plan_checks[3]|tojson ]], async ({ page }) => {
  await page.goto('/');
  const box = page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] });
  const add = page.getByRole('button', { name: 'Add', exact: true });
  await box.fill([[ examples[0]|tojson ]]);
  await add.click();
  await box.fill([[ examples[1]|tojson ]]);
  await add.click();
  await expect(page.getByRole('listitem')).toHaveCount(2);
  await page.getByRole('searchbox').fill([[ search_word|tojson ]]);
  await expect(page.getByRole('listitem')).toHaveCount(1);
  await expect(page.getByRole('listitem')).toContainText([[ examples[0]|tojson ]]);
  await expect(page.getByText([[ examples[1]|tojson ]], { exact: true })).toBeHidden();
});
