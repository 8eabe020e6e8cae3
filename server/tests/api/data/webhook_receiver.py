"""A webhook receiver for the tests: verifies every delivery with the official Standard
Webhooks library (`standardwebhooks`, PyPI) and records it.

    python webhook_receiver.py     # prints the port it listens on, then serves

POST /secret {"path": "/ok", "secret": "whsec_..."}  the secret of the endpoint at that path
POST /ok...      verified and recorded, 200 (400 and recorded as unverified if it does not verify)
POST /flaky...   answers 500 to the first three attempts of each message, then as /ok
POST /hang...    answers nothing for 60 seconds
GET  /received   every delivery so far, as JSON
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

lock = threading.Lock()
secrets = {}
received = []
failures = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            body = json.dumps(received).encode()
        self.answer(200, body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        path = self.path
        if path == "/secret":
            given = json.loads(body)
            with lock:
                secrets[given["path"]] = given["secret"]
            return self.answer(204)
        if path.startswith("/hang"):
            time.sleep(60)
            return self.answer(200)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            with lock:
                secret = secrets[path]
            payload = Webhook(secret).verify(body, headers)
        except Exception as e:  # a delivery that does not verify is the test's failure
            with lock:
                received.append({"path": path, "verified": False, "error": repr(e)})
            return self.answer(400)
        message = headers["webhook-id"]
        if path.startswith("/flaky"):
            with lock:
                failed = failures.get(message, 0)
                failures[message] = failed + 1
            if failed < 3:
                return self.answer(500)
        with lock:
            received.append(
                {
                    "path": path,
                    "verified": True,
                    "id": message,
                    "type": payload["type"],
                    "data": payload["data"],
                }
            )
        self.answer(200)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
