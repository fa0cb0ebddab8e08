// Playwright Test's configuration when Forja grades an app with Web-Bench's own tests (builder/eval/webbench.py).
// Web-Bench's config starts the app itself; here the app is already running in Forja's preview, so there is no web
// server, and the browser is the machine's Chromium (nothing is downloaded). Everything else comes from the
// environment Forja sets: the tests' folder, the app's address, the files to write.
const { defineConfig } = require('@playwright/test')

const env = process.env

module.exports = defineConfig({
  testDir: env.FORJA_GRADE_TESTS,
  outputDir: env.FORJA_GRADE_OUTPUT,
  // Web-Bench's own limits when it grades (IS_EVAL_PRODUCTION): 30 s a test, 5 s an expectation.
  timeout: 30_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['json', { outputFile: env.FORJA_GRADE_REPORT }]],
  use: {
    baseURL: env.FORJA_GRADE_BASE_URL,
    storageState: env.FORJA_GRADE_STORAGE || undefined,
    viewport: { width: 1280, height: 720 },
    screenshot: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: env.FORJA_GRADE_CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
})
