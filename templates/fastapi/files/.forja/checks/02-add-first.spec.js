import { test, expect } from '@playwright/test';

test([[ plan_checks[1]|tojson ]], async ({ page }) => {
  await page.goto('/');
  const box = page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] });
  await box.fill('First');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  // The box empties once the server has kept it; the list is newest first.
  await expect(box).toHaveValue('');
  await expect(page.locator('#items > li').first()).toHaveText(/^First/);
  await expect(page.getByRole('alert')).toBeHidden();
});
