// Fetches each address given (a server of its own on 0.0.0.0 stands for ADDRESS:PORT) and prints one line per address:
// "ok" or the error's code. Run with a preview's proxy variables to see which requests Node sends to the proxy.
import http from "node:http";

const server = http.createServer((_request, response) => response.end("ok")).listen(0, "0.0.0.0", async () => {
  const port = server.address().port;
  for (const address of process.argv.slice(2)) {
    const url = address.replace("PORT", String(port));
    try {
      console.log(`${address} ${await (await fetch(url)).text()}`);
    } catch (error) {
      console.log(`${address} ${error.cause?.code ?? error.message}`);
    }
  }
  server.close();
});
