export function greeting(app) {
  return `Hello from @repo/ui in the ${app} app`;
}
