import { test, expect } from '@playwright/test';

// Swagger UI draws the documentation with scripts from a CDN, which a check's browser does not load (it loads the
// app's own pages only): this checks that /docs is the API's Swagger UI page, and that the OpenAPI document it shows
// lists the endpoints.
test([[ plan_checks[4]|tojson ]], async ({ page }) => {
  await page.goto('/docs');
  await expect(page).toHaveTitle(/Swagger UI/);
  await page.goto('/openapi.json');
  await expect(page.locator('body')).toContainText('"/api/items":{"get":');
  await expect(page.locator('body')).toContainText('"/api/items/{item_id}":{"patch":');
});
