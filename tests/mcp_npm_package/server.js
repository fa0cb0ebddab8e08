#!/usr/bin/env node
// A team's MCP server as npm serves one: `npx -y forja-mcp-echo` installs it from the registry and runs this file.
// It speaks just enough of MCP over stdio (one JSON-RPC message a line) for a session to list its one tool.
const readline = require("node:readline");

const send = (message) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n");
const tools = [
  {
    name: "echo",
    description: "Says back what it is given.",
    inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  },
];

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const { id, method, params } = JSON.parse(line);
  if (id === undefined) return; // a notification (initialized): nothing to answer
  if (method === "initialize") {
    send({
      id,
      result: {
        protocolVersion: params.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: "forja-mcp-echo", version: "1.0.0" },
      },
    });
  } else if (method === "tools/list") {
    send({ id, result: { tools } });
  } else if (method === "tools/call") {
    send({ id, result: { content: [{ type: "text", text: String(params.arguments.text) }] } });
  } else {
    send({ id, error: { code: -32601, message: `no method ${method}` } });
  }
});
