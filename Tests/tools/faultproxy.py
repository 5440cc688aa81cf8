#!/usr/bin/env python3
"""faultproxy: an HTTP proxy in front of an S3 endpoint that can inject faults.

Used by recsync's integration tests to make uploads fail in controlled ways.
Python 3 standard library only.

Usage
-----

    faultproxy.py --upstream http://127.0.0.1:9000 [--port 0] [--control-port 0]
                  [--log requests.jsonl] [--rules '{"mode": "503", "count": 2}']

The proxy listens on 127.0.0.1:PORT (0 picks a free port; `--listen ADDRESS`
and `--netns NAME` put it on an address inside a network namespace) and forwards every
request to the upstream endpoint byte for byte: the request line, the headers
(Host included, so SigV4 signatures made for the proxy's address still verify)
and the body, streamed in pieces (Content-Length, `Transfer-Encoding: chunked`
and aws-chunked bodies alike; nothing is buffered whole). Each request gets a
fresh upstream connection; client connections are kept alive as HTTP/1.1
allows. `Expect: 100-continue` is honoured.

When both ports listen it prints, on stdout, one line each:

    CONTROL <control port>
    PORT <proxy port>

`PORT` comes last: once it is printed the proxy is ready.

Faults
------

A rule says which requests to affect and how:

    {"mode": "503",            # see the modes below
     "method": "PUT",          # optional: only this HTTP method
     "path": "\\.wav$",        # optional: regular expression searched in the path (as sent, percent-encoded)
     "query": "(^|&)partNumber=2(&|$)",  # optional: regular expression searched in the query string
     "count": 3,               # optional: affect this many requests in total, then stop
     "count_per_path": 2,      # optional: affect the first N requests of each distinct path
     "rate": 65536,            # slow: bytes per second (default 65536)
     "delay": 0.5,             # slow: seconds to hold the response before relaying it (default 0)
     "probability": 0.3}       # optional: affect a matching request only this often (0..1; --seed)

Without `count` and `count_per_path` a rule affects every matching request.
Rules are checked in order; the first one that matches and still has requests
to affect decides. A request no rule takes is passed through.

Modes:

    pass     forward unchanged
    503      answer `503 SlowDown` with an S3 XML error body; upstream is not contacted
    500      answer `500 InternalError` the same way
    reset    forward the headers and half of the body upstream, then reset the client
             connection (SO_LINGER 0, so the client sees ECONNRESET)
    hang     read the whole request and never answer; the connection stays open until
             the client gives up (its stall timeout) or the proxy stops
    slow     forward, but send the request body upstream and the response to the client
             at `rate` bytes per second, the response after `delay` seconds
    corrupt  forward with one byte of the body flipped (a data byte of the first
             aws-chunked chunk, else the middle byte): a server that checks payload
             signatures or hashes must reject it

Control port (HTTP on 127.0.0.1:CONTROL, JSON bodies):

    GET    /rules   the rules, with "used" (requests affected so far)
    PUT    /rules   replace the rules: one rule, a list of rules, or {"rules": [...]}
    POST   /rules   append rules (same forms)
    DELETE /rules   remove every rule (everything passes)
    GET    /health  "ok"
    PUT    /server  {"up": false}: the server "dies": the listening socket closes (new
                    connections are refused) and every open client connection is reset;
                    {"up": true}: it listens again on the same address and port

    curl -s -X PUT --data '{"mode": "503", "method": "PUT", "count_per_path": 2}' \\
         http://127.0.0.1:$CONTROL/rules

Request log
-----------

With `--log FILE`, one JSON object per line and request, written when the
request is over:

    {"id": 7, "time": 1700000000.123, "end": 1700000000.456,
     "method": "PUT", "path": "/bucket/anonymous/2025/01/a.wav", "query": "",
     "fault": "503", "status": 503, "upstream_status": null,
     "request_bytes": 1234, "error": null}

`time` is when the request head arrived and `end` when the proxy was done with
it (response sent, connection reset, or the client went away), both in seconds
since the epoch. `status` is what the client was sent (null when nothing was,
also when the client had closed its connection before the answer came),
`upstream_status` what the upstream server answered (null when it was not asked
or did not answer). `error` says what went wrong on the way, e.g. that the client
disconnected.

When the server is taken down (`PUT /server {"up": false}`), more lines say
which answered requests may never have reached their client: those answered in
the last 2 seconds whose connection was reset before the client sent another
request on it (Linux drops a reset connection's unread data, so the client may
retry them):

    {"event": "down", "time": 1700000000.789, "reset_after_answer": [7, 9]}

SIGTERM or SIGINT closes every connection and ends the proxy with status 0.
"""

import argparse
import os
import itertools
import random
import json
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# How long after an answer was sent the proxy's death may still keep it from the client.
UNREAD_WINDOW = 2.0
MODES = ("pass", "503", "500", "reset", "hang", "slow", "corrupt")
MAX_HEAD = 64 * 1024
PIECE = 64 * 1024
CLIENT_IDLE_TIMEOUT = 300.0
UPSTREAM_TIMEOUT = 120.0
EXPECT_WAIT = 5.0
CORRUPT_PREFIX = 4096


class ProtocolError(Exception):
    """The peer sent something that is not HTTP/1.x."""


class PeerClosed(Exception):
    """The peer closed the connection where more bytes were due."""


class UpstreamFailed(Exception):
    """The upstream server could not be sent the request or did not answer it."""


# ---------------------------------------------------------------------------
# Rules


class Rule:
    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a rule is a JSON object")
        unknown = set(spec) - {"mode", "method", "path", "query", "count", "count_per_path", "rate", "delay",
                              "probability"}
        if unknown:
            raise ValueError(f"unknown rule fields: {', '.join(sorted(unknown))}")
        self.mode = str(spec.get("mode", "pass"))
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; modes: {', '.join(MODES)}")
        self.method = spec.get("method")
        self.method = self.method.upper() if self.method else None
        self.path_text = spec.get("path")
        self.path = re.compile(self.path_text) if self.path_text else None
        self.query_text = spec.get("query")
        self.query = re.compile(self.query_text) if self.query_text else None
        self.count = self._natural(spec, "count")
        self.count_per_path = self._natural(spec, "count_per_path")
        self.rate = float(spec.get("rate", 65536))
        self.delay = float(spec.get("delay", 0))
        if self.rate <= 0 or self.delay < 0:
            raise ValueError("rate must be positive and delay not negative")
        self.probability = float(spec.get("probability", 1))
        if not 0 <= self.probability <= 1:
            raise ValueError("probability must be between 0 and 1")
        self.used = 0
        self.used_by_path = {}

    @staticmethod
    def _natural(spec, name):
        value = spec.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0")
        return value

    def take(self, method, path, query):
        """Whether this rule affects the request; counts it if so. Called under the rules lock."""
        if self.method and self.method != method:
            return False
        if self.path and not self.path.search(path):
            return False
        if self.query and not self.query.search(query):
            return False
        if self.count is not None and self.used >= self.count:
            return False
        if self.count_per_path is not None and self.used_by_path.get(path, 0) >= self.count_per_path:
            return False
        if self.probability < 1 and RANDOM.random() >= self.probability:
            return False
        self.used += 1
        self.used_by_path[path] = self.used_by_path.get(path, 0) + 1
        return True

    def describe(self):
        return {"mode": self.mode, "method": self.method, "path": self.path_text, "query": self.query_text,
                "count": self.count,
                "count_per_path": self.count_per_path, "rate": self.rate, "delay": self.delay,
                "probability": self.probability, "used": self.used}


PASS = Rule({"mode": "pass"})
# Decides `probability` rules; seeded with --seed so a run can be repeated.
RANDOM = random.Random(0)


class Rules:
    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []

    @staticmethod
    def parse(document):
        if isinstance(document, dict) and "rules" in document:
            document = document["rules"]
        if isinstance(document, dict):
            document = [document]
        if not isinstance(document, list):
            raise ValueError("expected a rule, a list of rules or {\"rules\": [...]}")
        return [Rule(spec) for spec in document]

    def replace(self, rules):
        with self._lock:
            self._rules = list(rules)

    def extend(self, rules):
        with self._lock:
            self._rules.extend(rules)

    def take(self, method, path, query):
        with self._lock:
            for rule in self._rules:
                if rule.take(method, path, query):
                    return rule
        return PASS

    def describe(self):
        with self._lock:
            return [rule.describe() for rule in self._rules]


# ---------------------------------------------------------------------------
# Sockets and HTTP framing


class Conn:
    """A socket with a read buffer."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(PIECE)
        if not data:
            return False
        self.buf += data
        return True

    def read_head(self):
        """The next message head up to and including the blank line; None on a clean EOF."""
        start = 0
        while True:
            end = self.buf.find(b"\r\n\r\n", max(0, start - 3))
            if end >= 0:
                head = bytes(self.buf[:end + 4])
                del self.buf[:end + 4]
                return head
            if len(self.buf) > MAX_HEAD:
                raise ProtocolError("message head larger than 64 KiB")
            start = len(self.buf)
            if not self._fill():
                if self.buf:
                    raise PeerClosed("connection closed inside a message head")
                return None

    def read_some(self, limit):
        if not self.buf and not self._fill():
            raise PeerClosed("connection closed inside a message body")
        data = bytes(self.buf[:limit])
        del self.buf[:limit]
        return data

    def read_line(self):
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end + 2])
                del self.buf[:end + 2]
                return line
            if len(self.buf) > MAX_HEAD:
                raise ProtocolError("chunk header line too long")
            if not self._fill():
                raise PeerClosed("connection closed inside a chunked body")


def parse_head(head):
    lines = head[:-4].split(b"\r\n")
    first = lines[0].decode("latin-1")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ProtocolError(f"bad header line {line[:80]!r}")
        headers.append((name.strip().lower(), value.strip()))
    return first, headers


def header(headers, name):
    for key, value in headers:
        if key == name:
            return value
    return None


def has_token(headers, name, token):
    value = header(headers, name)
    return value is not None and token in [part.strip().lower() for part in value.split(",")]


def framing(headers, response_without_length_reads_to_close):
    """("chunked", None), ("length", n) or ("close", None) for a body that ends with the connection."""
    if has_token(headers, "transfer-encoding", "chunked"):
        return ("chunked", None)
    length = header(headers, "content-length")
    if length is not None:
        try:
            n = int(length)
        except ValueError:
            raise ProtocolError(f"bad Content-Length {length!r}")
        if n < 0:
            raise ProtocolError(f"bad Content-Length {length!r}")
        return ("length", n)
    return ("close", None) if response_without_length_reads_to_close else ("length", 0)


def body_pieces(conn, kind, length):
    """The raw bytes of a body, framing included, in pieces as they arrive."""
    if kind == "length":
        remaining = length
        while remaining > 0:
            piece = conn.read_some(min(PIECE, remaining))
            remaining -= len(piece)
            yield piece
    elif kind == "chunked":
        while True:
            line = conn.read_line()
            yield line
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line {line[:80]!r}")
            if size == 0:
                while True:
                    trailer = conn.read_line()
                    yield trailer
                    if trailer == b"\r\n":
                        return
            remaining = size + 2
            while remaining > 0:
                piece = conn.read_some(min(PIECE, remaining))
                remaining -= len(piece)
                yield piece
    else:  # until the connection closes
        while True:
            if not conn.buf and not conn._fill():
                return
            yield bytes(conn.buf)
            conn.buf.clear()


def corrupting(pieces, streaming, total, note):
    """Passes the pieces on with one byte flipped: a data byte of the first aws-chunked chunk, else the middle byte."""
    pieces = iter(pieces)
    prefix = bytearray()
    for piece in pieces:
        prefix += piece
        if len(prefix) >= CORRUPT_PREFIX:
            break
    target = None
    if streaming:
        end = prefix.find(b"\r\n")
        # The first chunk's data starts after "<hex size>;chunk-signature=<sig>\r\n"; skip an empty chunk.
        if end >= 0 and end + 2 < len(prefix) and not prefix.startswith(b"0;"):
            target = end + 2
    if target is None and (total or len(prefix)):
        target = (total if total is not None else len(prefix)) // 2
    offset = 0
    for piece in itertools.chain([bytes(prefix)] if prefix else [], pieces):
        if target is not None and offset <= target < offset + len(piece):
            changed = bytearray(piece)
            changed[target - offset] ^= 0x01
            piece = bytes(changed)
            note["flipped"] = target
        offset += len(piece)
        yield piece


class Pacer:
    """Sends at most `rate` bytes per second."""

    def __init__(self, rate):
        self.rate = rate
        self.slice = max(1, int(rate / 20))
        self.started = time.monotonic()
        self.sent = 0

    def send(self, sock, data):
        view = memoryview(data)
        while view:
            part = view[:self.slice]
            sock.sendall(part)
            self.sent += len(part)
            view = view[len(part):]
            ahead = self.sent / self.rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)


def error_response(status, code, message, resource, method):
    request_id = uuid.uuid4().hex[:16].upper()
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<Resource>{resource}</Resource><RequestId>{request_id}</RequestId></Error>").encode()
    reason = {503: "Slow Down", 500: "Internal Server Error", 502: "Bad Gateway"}.get(status, "Error")
    head = (f"HTTP/1.1 {status} {reason}\r\n"
            "Content-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"x-amz-request-id: {request_id}\r\n"
            f"Date: {formatdate(usegmt=True)}\r\n"
            "Server: faultproxy\r\n\r\n").encode()
    return head + (b"" if method == "HEAD" else body)


def client_gone(sock):
    """Whether the client closed or reset its connection (it is not sending anything while it waits)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def reset(sock):
    """Closes with an RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


# ---------------------------------------------------------------------------
# The proxy


class FaultProxy:
    def __init__(self, upstream, log_path):
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise SystemExit(f"faultproxy: --upstream must be http://HOST:PORT, got {upstream!r}")
        self.upstream = (parts.hostname, parts.port or 80)
        self.rules = Rules()
        self.stopping = threading.Event()
        self._ids = itertools.count(1)
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None
        self._log_lock = threading.Lock()
        self._sockets = set()
        self._sockets_lock = threading.Lock()
        # (id, when) of the request last answered on each connection, until the client sends
        # the next one (which proves it read the answer).
        self._answered = {}
        self.listener = None
        self.listen_address = None
        self.netns = None
        self.down = False
        self._listener_lock = threading.Lock()

    # Socket bookkeeping, so that stop() can close whatever is still open.

    def _track(self, sock):
        with self._sockets_lock:
            self._sockets.add(sock)
        return sock

    def _forget(self, sock, abort=False):
        with self._sockets_lock:
            self._sockets.discard(sock)
            self._answered.pop(sock, None)
        if abort:
            reset(sock)
        else:
            try:
                sock.close()
            except OSError:
                pass

    def go_down(self):
        """Like a killed server: refuse new connections and reset the open ones."""
        with self._listener_lock:
            self.down = True
            if self.listener:
                # shutdown first: it stops the listening at once, even while accept() waits on it.
                try:
                    self.listener.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self.listener.close()
                self.listener = None
        with self._sockets_lock:
            open_sockets = list(self._sockets)
            self._sockets.clear()
            # An answer sent more than UNREAD_WINDOW seconds ago was read by any live client.
            now = time.time()
            answered = sorted(entry_id for entry_id, sent in (self._answered.pop(sock) for sock in open_sockets
                                                              if sock in self._answered)
                              if now - sent <= UNREAD_WINDOW)
        for sock in open_sockets:
            reset(sock)
        self.note_reset_after_answer(answered)

    def note_reset_after_answer(self, ids):
        with self._log_lock:
            if self._log:
                self._log.write(json.dumps({"event": "down", "time": time.time(), "reset_after_answer": ids}) + "\n")
                self._log.flush()

    def come_up(self):
        with self._listener_lock:
            if self.listener is None:
                self.listener = listen_socket(self.listen_address[0], self.listen_address[1], self.netns)
                self.listener.settimeout(0.2)
            self.down = False

    def stop(self):
        self.stopping.set()
        with self._sockets_lock:
            open_sockets = list(self._sockets)
            self._sockets.clear()
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass
        with self._log_lock:
            if self._log:
                self._log.close()
                self._log = None

    def write_log(self, entry):
        with self._log_lock:
            if self._log:
                self._log.write(json.dumps(entry, sort_keys=True) + "\n")
                self._log.flush()

    # Connections

    def serve_client(self, sock):
        self._track(sock)
        sock.settimeout(CLIENT_IDLE_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = Conn(sock)
        keep = True
        aborted = False
        try:
            while keep and not self.stopping.is_set():
                head = client.read_head()
                if head is None:
                    break
                with self._sockets_lock:
                    self._answered.pop(sock, None)
                keep, aborted, answered = self.serve_request(client, head)
                if answered is not None and not aborted:
                    with self._sockets_lock:
                        still_open = sock in self._sockets
                        if still_open:
                            self._answered[sock] = (answered, time.time())
                    if not still_open:  # reset by go_down while this answer was on its way
                        self.note_reset_after_answer([answered])
        except (OSError, PeerClosed, ProtocolError):
            pass
        finally:
            if not aborted:
                self._forget(sock)

    def serve_request(self, client, head):
        """Handles one request; returns (keep the connection, connection already closed, the
        request's id when a status was sent)."""
        entry = {"id": next(self._ids), "time": time.time(), "end": None, "method": None, "path": None,
                 "query": "", "fault": "pass", "status": None, "upstream_status": None,
                 "request_bytes": 0, "error": None}
        keep, aborted = False, False
        try:
            first, headers = parse_head(head)
            parts = first.split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                raise ProtocolError(f"bad request line {first[:120]!r}")
            method, target, version = parts
            path, _, query = target.partition("?")
            entry.update(method=method, path=path, query=query)
            rule = self.rules.take(method, path, query)
            entry["fault"] = rule.mode
            kind, length = framing(headers, False)
            expect = has_token(headers, "expect", "100-continue") and (kind == "chunked" or length > 0)
            wants_close = has_token(headers, "connection", "close") or (
                version == "HTTP/1.0" and not has_token(headers, "connection", "keep-alive"))
            if rule.mode in ("503", "500"):
                keep = self.answer_error(client, rule.mode, method, path, kind, length, expect, entry)
            elif rule.mode == "hang":
                self.hang(client, kind, length, expect, entry)
            else:
                keep, aborted = self.forward(client, head, rule, method, headers, kind, length, expect, entry)
            keep = keep and not wants_close
        except PeerClosed as error:
            entry["error"] = f"client disconnected: {error}"
        except ProtocolError as error:
            entry["error"] = f"bad request: {error}"
        except OSError as error:
            entry["error"] = f"client connection: {error}"
        finally:
            entry["end"] = time.time()
            self.write_log(entry)
        return keep, aborted, (entry["id"] if entry["status"] is not None else None)

    def read_body(self, client, kind, length, expect, entry):
        if expect:
            client.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        for piece in body_pieces(client, kind, length):
            entry["request_bytes"] += len(piece)

    def answer_error(self, client, mode, method, path, kind, length, expect, entry):
        self.read_body(client, kind, length, expect, entry)
        if mode == "503":
            response = error_response(503, "SlowDown", "Please reduce your request rate.", path, method)
            entry["status"] = 503
        else:
            response = error_response(500, "InternalError", "We encountered an internal error. Please try again.",
                                      path, method)
            entry["status"] = 500
        client.sock.sendall(response)
        return True

    def hang(self, client, kind, length, expect, entry):
        self.read_body(client, kind, length, expect, entry)
        # Never answer: wait until the client gives up or the proxy stops.
        sock = client.sock
        while not self.stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                if not sock.recv(PIECE):
                    break
        entry["error"] = "client gave up waiting" if not self.stopping.is_set() else "proxy stopped"

    def forward(self, client, head, rule, method, headers, kind, length, expect, entry):
        """Forwards one request; returns (keep the client connection, client connection already closed)."""
        try:
            upstream_sock = self._track(socket.create_connection(self.upstream, timeout=UPSTREAM_TIMEOUT))
        except OSError as error:
            entry["error"] = f"upstream unreachable: {error}"
            self.read_body(client, kind, length, expect, entry)
            self.bad_gateway(client, method, entry)
            return False, False
        upstream_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            return self.exchange(client, Conn(upstream_sock), head, rule, method, headers, kind, length, expect, entry)
        except UpstreamFailed as error:
            entry["error"] = f"upstream: {error}"
            if entry["upstream_status"] is None:
                self.bad_gateway(client, method, entry)
            return False, False
        finally:
            self._forget(upstream_sock)

    def exchange(self, client, upstream, head, rule, method, headers, kind, length, expect, entry):
        pacer = Pacer(rule.rate) if rule.mode == "slow" else None
        try:
            upstream.sock.sendall(head)
        except OSError as error:
            raise UpstreamFailed(f"cannot send the request: {error}")
        early = None
        if expect and not client.buf:
            # Relay the upstream's 100 Continue, or its early final answer, whichever comes first.
            readable, _, _ = select.select([client.sock, upstream.sock], [], [], EXPECT_WAIT)
            if upstream.sock in readable and client.sock not in readable:
                answer = self.upstream_head(upstream)
                if self.status_of(answer) == 100:
                    client.sock.sendall(answer)
                else:
                    early = answer
        if early is None:
            note = {}
            pieces = body_pieces(client, kind, length)
            if rule.mode == "corrupt":
                streaming = (header(headers, "x-amz-content-sha256") or "").startswith("STREAMING-") or \
                    has_token(headers, "content-encoding", "aws-chunked")
                pieces = corrupting(pieces, streaming, length if kind == "length" else None, note)
            cut = ((length // 2) if kind == "length" else 0) if rule.mode == "reset" else None
            send_error = self.send_body(pieces, upstream.sock, pacer, cut, entry)
            if rule.mode == "corrupt":
                entry["error"] = f"flipped the body byte at offset {note['flipped']}" if "flipped" in note \
                    else "empty body, nothing to corrupt"
            if rule.mode == "reset":
                entry["error"] = f"reset the client connection after {entry['request_bytes']} body bytes"
                self._forget(upstream.sock, abort=True)
                self._forget(client.sock, abort=True)
                return False, True
            if send_error:
                entry["error"] = f"upstream stopped reading the body: {send_error}"
        # The response: skip (or relay) interim answers.
        while True:
            answer = early or self.upstream_head(upstream)
            early_final = early is not None
            early = None
            status = self.status_of(answer)
            if 100 <= status < 200:
                if status != 100 or expect:
                    client.sock.sendall(answer)
                continue
            break
        entry["upstream_status"] = status
        try:
            _, response_headers = parse_head(answer)
            if method == "HEAD" or status in (204, 304):
                response_kind, response_length = "length", 0
            else:
                response_kind, response_length = framing(response_headers, True)
        except ProtocolError as error:
            raise UpstreamFailed(str(error))
        if pacer and rule.delay:
            time.sleep(rule.delay)
        if client_gone(client.sock):
            # A dead client's socket still takes a send; say that nobody got the answer.
            entry["error"] = "the client was gone before the answer came"
            return False, False
        send = (lambda data: pacer.send(client.sock, data)) if pacer else client.sock.sendall
        try:
            send(answer)
            pieces = body_pieces(upstream, response_kind, response_length)
            while True:
                try:
                    piece = next(pieces)
                except StopIteration:
                    break
                except (OSError, PeerClosed, ProtocolError) as error:
                    entry["error"] = f"upstream broke off the response: {error}"
                    return False, False
                send(piece)
        except OSError as error:
            entry["error"] = f"client disconnected before the whole response was sent: {error}"
            return False, False
        entry["status"] = status
        keep = not early_final and response_kind != "close" and not has_token(response_headers, "connection", "close")
        return keep, False

    def send_body(self, pieces, upstream_sock, pacer, cut, entry):
        """Sends the request body upstream; returns the error if upstream stopped taking it (the rest is read and dropped)."""
        failed = None
        for piece in pieces:
            if failed:
                continue
            if cut is not None and entry["request_bytes"] + len(piece) >= cut:
                piece = piece[:cut - entry["request_bytes"]]
            try:
                if pacer:
                    pacer.send(upstream_sock, piece)
                else:
                    upstream_sock.sendall(piece)
            except OSError as error:
                failed = str(error)
                continue
            entry["request_bytes"] += len(piece)
            if cut is not None and entry["request_bytes"] >= cut:
                break
        return failed

    def upstream_head(self, upstream):
        try:
            answer = upstream.read_head()
        except (OSError, PeerClosed, ProtocolError) as error:
            raise UpstreamFailed(f"no answer: {error}")
        if answer is None:
            raise UpstreamFailed("closed the connection without answering")
        try:
            self.status_of(answer)
        except ProtocolError as error:
            raise UpstreamFailed(str(error))
        return answer

    def bad_gateway(self, client, method, entry):
        try:
            client.sock.sendall(error_response(502, "BadGateway", "faultproxy got no answer from the upstream server.",
                                               entry["path"], method))
            entry["status"] = 502
        except OSError:
            pass

    @staticmethod
    def status_of(head):
        line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        try:
            return int(line[1])
        except (IndexError, ValueError):
            raise ProtocolError(f"bad status line {line!r}")

    def accept_loop(self, listener):
        listener.settimeout(0.2)
        with self._listener_lock:
            self.listener = listener
            self.listen_address = listener.getsockname()[:2]
        while not self.stopping.is_set():
            with self._listener_lock:
                current = self.listener
            if current is None:
                time.sleep(0.05)
                continue
            try:
                sock, _ = current.accept()
            except socket.timeout:
                continue
            except OSError:
                if self.stopping.is_set() or self.down:
                    continue
                raise
            threading.Thread(target=self.serve_client, args=(sock,), daemon=True).start()


def control_handler(proxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, document):
            body = (json.dumps(document, indent=1) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def read_rules(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                return Rules.parse(json.loads(self.rfile.read(length) or b"null"))
            except (ValueError, re.error) as error:
                self.reply(400, {"error": str(error)})
                return None

        def do_GET(self):
            if self.path == "/rules":
                self.reply(200, {"rules": proxy.rules.describe()})
            elif self.path == "/health":
                self.reply(200, "ok")
            else:
                self.reply(404, {"error": "unknown path; use /rules or /health"})

        def do_PUT(self):
            if self.path == "/server":
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    up = bool(json.loads(self.rfile.read(length) or b"{}")["up"])
                except (ValueError, KeyError, TypeError):
                    return self.reply(400, {"error": 'expected {"up": true} or {"up": false}'})
                proxy.come_up() if up else proxy.go_down()
                return self.reply(200, {"up": up})
            if self.path != "/rules":
                return self.reply(404, {"error": "unknown path; use /rules or /server"})
            rules = self.read_rules()
            if rules is not None:
                proxy.rules.replace(rules)
                self.reply(200, {"rules": proxy.rules.describe()})

        def do_POST(self):
            if self.path != "/rules":
                return self.reply(404, {"error": "unknown path; use /rules"})
            rules = self.read_rules()
            if rules is not None:
                proxy.rules.extend(rules)
                self.reply(200, {"rules": proxy.rules.describe()})

        def do_DELETE(self):
            if self.path != "/rules":
                return self.reply(404, {"error": "unknown path; use /rules"})
            proxy.rules.replace([])
            self.reply(200, {"rules": []})

    return Handler


def listen_socket(host, port, netns):
    """A listening TCP socket; with `netns`, created inside that network namespace.

    A socket belongs to the namespace it was created in, so the proxy switches this thread into
    the namespace (setns), creates and binds the socket, and switches back before any other
    thread starts: the test's client then reaches the server only over the namespace's links.
    """
    if not netns:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        return listener
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet = 0x40000000
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if libc.setns(target, clone_newnet) != 0:
            raise SystemExit(f"faultproxy: cannot enter network namespace {netns}: {os.strerror(ctypes.get_errno())}")
        try:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(128)
        finally:
            if libc.setns(own, clone_newnet) != 0:
                raise SystemExit(f"faultproxy: cannot return to its own network namespace: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(own)
        os.close(target)
    return listener


def main():
    parser = argparse.ArgumentParser(description="HTTP proxy for an S3 endpoint that injects faults.")
    parser.add_argument("--upstream", required=True, help="upstream endpoint, http://HOST:PORT")
    parser.add_argument("--port", type=int, default=0, help="proxy port on 127.0.0.1 (0: a free port)")
    parser.add_argument("--control-port", type=int, default=0, help="control port on 127.0.0.1 (0: a free port)")
    parser.add_argument("--log", help="append one JSON line per request to this file")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random choices of `probability` rules")
    parser.add_argument("--rules", help="initial rules, JSON (same forms as PUT /rules)")
    parser.add_argument("--listen", default="127.0.0.1",
                        help="address the proxy listens on (default 127.0.0.1; the control port is always on 127.0.0.1)")
    parser.add_argument("--netns",
                        help="listen inside this network namespace (/run/netns/NAME), while the control port "
                             "and the upstream connections stay in the proxy's own")
    args = parser.parse_args()

    proxy = FaultProxy(args.upstream, args.log)
    proxy.netns = args.netns
    RANDOM.seed(args.seed)
    if args.rules:
        try:
            proxy.rules.replace(Rules.parse(json.loads(args.rules)))
        except (ValueError, re.error) as error:
            raise SystemExit(f"faultproxy: bad --rules: {error}")

    listener = listen_socket(args.listen, args.port, args.netns)
    control = ThreadingHTTPServer(("127.0.0.1", args.control_port), control_handler(proxy))
    control.daemon_threads = True
    threading.Thread(target=control.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def on_signal(signum, frame):
        proxy.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    print(f"CONTROL {control.server_address[1]}", flush=True)
    print(f"PORT {listener.getsockname()[1]}", flush=True)
    try:
        proxy.accept_loop(listener)
    finally:
        with proxy._listener_lock:
            if proxy.listener:
                proxy.listener.close()
        control.shutdown()
        control.server_close()
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
