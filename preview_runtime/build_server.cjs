// CommonJS (.cjs) whatever the project's package.json says its .js files are.
// Stands in for the dev server while a publish builds in a preview sandbox: the sandbox counts as started once its port
// answers, and a real dev server would take seconds to start for nothing (the build runs beside it, then all stops).
require("http")
  .createServer((request, response) => response.end("Building for production..."))
  .listen(Number(process.env.PORT), process.env.HOST);
