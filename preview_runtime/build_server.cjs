// CommonJS (.cjs) whatever the project's package.json says its .js files are.
// Stands in for the dev server while a publish builds in a preview sandbox: a preview runs as long as its dev server does
// (one that ends, or that listens nowhere for long, ends it), and a real dev server would take seconds to start and
// compete with the build for nothing. The build starts once the dependencies are installed, without waiting for this
// (which Forja starts a few seconds later: see STAND_IN_AFTER_S).
require("http")
  .createServer((request, response) => response.end("Building for production..."))
  .listen(Number(process.env.PORT), process.env.HOST);
