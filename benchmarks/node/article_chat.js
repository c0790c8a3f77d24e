// The article's chat servers (demos 3 and 4), with nodejs-websocket; "--json" for demo 4.
// As the article has them, on the port given as the first argument (0: a free one).
var ws = require("nodejs-websocket");
var json = process.argv.includes("--json");
var clientCount = 0;

function say(type, data) {
    return json ? JSON.stringify({type: type, data: data}) : data;
}

var server = ws.createServer(function (conn) {
    console.log("New connection");
    clientCount++;
    conn.nickname = "user" + clientCount;
    broadcast(say("enter", conn.nickname + " comes in"));
    conn.on("text", function (str) {
        console.log("Received" + str);
        broadcast(json ? say("message", conn.nickname + " says: " + str) : str);
    });
    conn.on("close", function (code, reason) {
        console.log("Connection closed");
        broadcast(say("leave", conn.nickname + " left"));
    });
    conn.on("error", function (err) {
        console.log("handle err");
        console.log(err);
    });
}).listen(Number(process.argv[2] || 0), "127.0.0.1", function () {
    process.stderr.write("listening " + server.socket.address().port + "\n");
});

function broadcast(msg) {
    server.connections.forEach(function (conn) {
        conn.sendText(msg);
    });
}
