"""A plain Python webhook consumer, as users write them (standard library only).

usage: python3 consumer.py PORT [http/1.0|http/1.1]
Serves POST on 127.0.0.1:PORT and answers 200 {"ok":true}. For each payload whose text is
`idle <unix micros>` it prints `<unix micros> <arrival unix micros>` (the bench reads stdout).
http/1.0 (the default of http.server) closes the connection after each answer; http/1.1 keeps
it open (it then needs the Content-Length it sends).
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Consumer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1" if sys.argv[2:] == ["http/1.1"] else "HTTP/1.0"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        arrived = time.time_ns() // 1000
        text = (json.loads(body).get("message") or {}).get("text") or ""
        words = text.split(" ")
        if len(words) == 2 and words[0] == "idle":
            print(words[1], arrived, flush=True)
        answer = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), Consumer).serve_forever()
