// The article's scream server (demo 2), with nodejs-websocket: "hi" -> "HI!!!".
// As the article has it, but on the port given as the first argument (0: a free one),
// and printing "listening PORT" once it listens, for benchmarks/node_vs_python.py.
var ws = require("nodejs-websocket");

var server = ws.createServer(function (conn) {
    console.log("New connection");
    conn.on("text", function (str) {
        console.log("Received" + str);  // the article's log line, kept
        conn.sendText(str.toUpperCase() + "!!!");
    });
    conn.on("close", function (code, reason) {
        console.log("Connection closed");
    });
    conn.on("error", function (err) {
        console.log("handle err");
        console.log(err);
    });
}).listen(Number(process.argv[2] || 0), "127.0.0.1", function () {
    process.stderr.write("listening " + server.socket.address().port + "\n");
});
