// Run by the Docker runner inside a preview container (as `node -e`) when the dev server listens only on the
// container's own loopback, which nothing outside the container can reach: it relays FORJA_FORWARD_PORT, on
// every interface, to FORJA_TARGET_PORT on FORJA_TARGET_HOST (127.0.0.1 or ::1).
const net = require("node:net");

const target = { port: Number(process.env.FORJA_TARGET_PORT), host: process.env.FORJA_TARGET_HOST || "127.0.0.1" };
net
  .createServer((client) => {
    const upstream = net.connect(target);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
    client.pipe(upstream).pipe(client);
  })
  .listen(Number(process.env.FORJA_FORWARD_PORT), "0.0.0.0");
