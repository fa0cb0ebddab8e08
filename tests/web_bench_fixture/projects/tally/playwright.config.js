const { defineConfig, devices } = require('@playwright/test')

const PROJECT_DIR = process.env.EVAL_PROJECT_ROOT || 'src'
const PORT = process.env.EVAL_PROJECT_PORT || 3300

module.exports = defineConfig({
  testDir: './test',
  timeout: process.env.IS_EVAL_PRODUCTION ? 30_000 : 2_000,
  expect: { timeout: process.env.IS_EVAL_PRODUCTION ? 5_000 : 1_000 },
  use: { baseURL: `http://127.0.0.1:${PORT}` },
  webServer: {
    command: `python3 -m http.server ${PORT} --bind 127.0.0.1 --directory ${PROJECT_DIR}`,
    url: `http://127.0.0.1:${PORT}`,
    reuseExistingServer: false,
  },
  projects: [{ name: 'chromium', use: { ...devices['Desktop Chrome'] } }],
})
