import { test, expect } from '@playwright/test';

test('Take turns: the first square clicked gets an X, the next an O', async ({ page }) => {
  await page.goto('/');
  const squares = page.getByRole('button').filter({ hasNotText: /restart|new game|reset|play again/i });
  await expect(squares).toHaveCount(9);
  await squares.nth(0).click();
  await expect(squares.nth(0)).toHaveText(/^\s*x\s*$/i);
  await squares.nth(4).click();
  await expect(squares.nth(4)).toHaveText(/^\s*o\s*$/i);
});

test('X fills the top row: it says X won', async ({ page }) => {
  await page.goto('/');
  const squares = page.getByRole('button').filter({ hasNotText: /restart|new game|reset|play again/i });
  await squares.nth(0).click();
  await squares.nth(3).click();
  await squares.nth(1).click();
  await squares.nth(4).click();
  await squares.nth(2).click();
  await expect(page.getByText(/\bx\b.{0,20}\b(wins?|won|winner)\b|winner.{0,12}\bx\b/i).filter({ visible: true }).first()).toBeVisible();
});

test('O fills the middle row: it says O won', async ({ page }) => {
  await page.goto('/');
  const squares = page.getByRole('button').filter({ hasNotText: /restart|new game|reset|play again/i });
  await squares.nth(0).click();
  await squares.nth(3).click();
  await squares.nth(1).click();
  await squares.nth(4).click();
  await squares.nth(8).click();
  await squares.nth(5).click();
  await expect(page.getByText(/\bo\b.{0,20}\b(wins?|won|winner)\b|winner.{0,12}\bo\b/i).filter({ visible: true }).first()).toBeVisible();
});

test('A full board with no line is a draw; Restart clears the board', async ({ page }) => {
  await page.goto('/');
  const squares = page.getByRole('button').filter({ hasNotText: /restart|new game|reset|play again/i });
  await squares.nth(0).click();
  await squares.nth(1).click();
  await squares.nth(2).click();
  await squares.nth(4).click();
  await squares.nth(3).click();
  await squares.nth(5).click();
  await squares.nth(7).click();
  await squares.nth(6).click();
  await squares.nth(8).click();
  await expect(page.getByText(/draw|\btie\b|nobody|no one|no winner/i).filter({ visible: true }).first()).toBeVisible();
  await page.getByRole('button', { name: /restart|new game|reset|play again/i }).first().click();
  await expect(squares).toHaveCount(9);
  await expect(squares.filter({ hasText: /^\s*[xo]\s*$/i })).toHaveCount(0);
});
