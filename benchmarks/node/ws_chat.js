// The chat room (plain, or JSON with "--json") with the ws library, the way its README
// broadcasts: the yardstick for the course's chat servers. ws does not compress
// unless told to (perMessageDeflate is off by default on the server).
const { WebSocketServer, WebSocket } = require("ws");
const json = process.argv.includes("--json");
let clientCount = 0;

function say(type, data) {
    return json ? JSON.stringify({ type, data }) : data;
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[2] || 0), maxPayload: 64 * 1024 });

function broadcast(message) {
    wss.clients.forEach((client) => {
        if (client.readyState === WebSocket.OPEN) client.send(message);
    });
}

wss.on("connection", (ws) => {
    clientCount++;
    const nickname = "user" + clientCount;
    broadcast(say("enter", nickname + " comes in"));
    ws.on("message", (data, isBinary) => {
        if (isBinary) return ws.close(1003, "the chat accepts text only");
        const text = data.toString();
        broadcast(json ? say("message", nickname + " says: " + text) : text);
    });
    ws.on("close", () => broadcast(say("leave", nickname + " left")));
    ws.on("error", () => {});
});
wss.on("listening", () => process.stderr.write("listening " + wss.address().port + "\n"));
