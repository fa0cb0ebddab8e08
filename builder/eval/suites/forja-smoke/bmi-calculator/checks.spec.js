import { test, expect } from '@playwright/test';

test('175 cm and 70 kg: BMI 22.9, normal', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/height/i).first().fill('175');
  await page.getByLabel(/weight/i).first().fill('70');
  await page.getByRole('button', { name: /calculate|compute/i }).first().click();
  await expect(page.getByText(/\b22\.(9|86)\b.*(normal|healthy)|(normal|healthy).*\b22\.(9|86)\b/i).filter({ visible: true }).first()).toBeVisible();
});

test('160 cm and 45 kg: BMI 17.6, underweight', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/height/i).first().fill('160');
  await page.getByLabel(/weight/i).first().fill('45');
  await page.getByRole('button', { name: /calculate|compute/i }).first().click();
  await expect(page.getByText(/\b17\.(6|58)\b.*underweight|underweight.*\b17\.(6|58)\b/i).filter({ visible: true }).first()).toBeVisible();
});

test('180 cm and 90 kg: BMI 27.8, overweight', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/height/i).first().fill('180');
  await page.getByLabel(/weight/i).first().fill('90');
  await page.getByRole('button', { name: /calculate|compute/i }).first().click();
  await expect(page.getByText(/\b27\.(8|78)\b.*overweight|overweight.*\b27\.(8|78)\b/i).filter({ visible: true }).first()).toBeVisible();
});

test('170 cm and 95 kg: BMI 32.9, obese', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/height/i).first().fill('170');
  await page.getByLabel(/weight/i).first().fill('95');
  await page.getByRole('button', { name: /calculate|compute/i }).first().click();
  await expect(page.getByText(/\b32\.(9|87)\b.*obes|obes.*\b32\.(9|87)\b/i).filter({ visible: true }).first()).toBeVisible();
});
