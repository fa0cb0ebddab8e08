import { test, expect } from '@playwright/test';

test([[ plan_checks[2]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] }).fill([[ examples[0]|tojson ]]);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const item = page.getByRole('listitem').filter({ hasText: [[ examples[0]|tojson ]] });
  await item.getByRole('checkbox').check();
  await expect(item.getByRole('checkbox')).toBeChecked();
  await expect(item.getByText([[ examples[0]|tojson ]], { exact: true })).toHaveClass(/line-through/);
});
