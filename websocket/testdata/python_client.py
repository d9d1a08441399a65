"""A python-socketio client for the websocket package's tests.

It connects in one of three styles, prints what happens as JSON lines on
stdout, and exits after --count messages or --timeout seconds:
  session  - upstream clnrest's documented example: a requests.Session
             carrying the rune header, passed as http_session (also with
             the "upgrade: websocket" header that upstream's own test
             sets); default transports, so polling upgraded to websocket.
  headers  - the rune in connect(headers=...).
  auth     - the rune in the connect auth payload.
Lines: {"event":"connect"}, {"event":"message","data":...},
{"event":"connect_error","data":...}, {"event":"done","transport":...},
{"event":"timeout"}.
"""
import argparse
import json
import sys
import threading

import requests
import socketio


def out(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--style", choices=["session", "headers", "auth"], required=True)
    ap.add_argument("--rune", default="")
    ap.add_argument("--ca", default="")
    ap.add_argument("--transports", default="")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=20)
    args = ap.parse_args()

    session = requests.Session()
    if args.ca:
        session.verify = args.ca
    if args.style == "session":
        session.headers.update({"upgrade": "websocket"})
        if args.rune:
            session.headers.update({"rune": args.rune})

    sio = socketio.Client(http_session=session, reconnection=False, logger=True, engineio_logger=True)
    finished = threading.Event()
    received = []

    @sio.event
    def connect():
        out({"event": "connect"})

    @sio.event
    def connect_error(data):
        out({"event": "connect_error", "data": data})
        finished.set()

    @sio.event
    def message(data):
        received.append(data)
        out({"event": "message", "data": data})
        if len(received) >= args.count:
            finished.set()

    kwargs = {"wait_timeout": 10}
    if args.style == "headers" and args.rune:
        kwargs["headers"] = {"rune": args.rune}
    if args.style == "auth" and args.rune:
        kwargs["auth"] = {"rune": args.rune}
    if args.transports:
        kwargs["transports"] = args.transports.split(",")
    try:
        sio.connect(args.url, **kwargs)
    except socketio.exceptions.ConnectionError as e:
        finished.wait(2)
        out({"event": "refused", "error": str(e)})
        return 0

    if not finished.wait(args.timeout):
        out({"event": "timeout"})
        sio.disconnect()
        return 1
    out({"event": "done", "transport": sio.transport()})
    sio.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
