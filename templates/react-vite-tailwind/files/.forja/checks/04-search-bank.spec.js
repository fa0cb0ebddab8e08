import { test, expect } from '@playwright/test';

test([[ plan_checks[3]|tojson ]], async ({ page }) => {
  await page.goto('/');
  const box = page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] });
  const add = page.getByRole('button', { name: 'Add', exact: true });
  await box.fill('Call the bank');
  await add.click();
  await box.fill('Buy bread');
  await add.click();
  await expect(page.getByRole('listitem')).toHaveCount(2);
  await page.getByRole('searchbox').fill('bank');
  await expect(page.getByRole('listitem')).toHaveCount(1);
  await expect(page.getByRole('listitem')).toContainText('Call the bank');
  await expect(page.getByText('Buy bread')).toBeHidden();
});
