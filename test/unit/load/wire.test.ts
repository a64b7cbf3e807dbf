import assert from "node:assert/strict";
import { test } from "node:test";
import { ResponseParser, WireProtocolError, encodeRequest } from "../../../harness/load/wire.js";

/** Feeds `text` to a parser in pieces cut at `cuts`; returns where it said done (index of the piece) and the parser. */
function feedCut(text: string, cuts: number[], noBody = false): { doneAt: number; p: ResponseParser } {
  const bytes = Buffer.from(text, "latin1");
  const p = new ResponseParser(noBody);
  const at = [0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length];
  let doneAt = -1;
  for (let k = 0; k + 1 < at.length; k++) {
    // each piece in its own buffer at an offset, as a reused read buffer would hold it
    const piece = Buffer.concat([Buffer.from("garbage"), bytes.subarray(at[k], at[k + 1])]);
    if (p.feed(piece, 7, piece.length)) doneAt = k;
  }
  return { doneAt, p };
}

const CASES: Array<[string, string, number, boolean]> = [
  [
    "content-length",
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a":12345}',
    200,
    true,
  ],
  [
    "chunked with extension and trailer",
    "HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\nx-trailer: 1\r\n\r\n",
    503,
    true,
  ],
  ["no body: 204", "HTTP/1.1 204 No Content\r\ndate: x\r\n\r\n", 204, true],
  ["connection: close", "HTTP/1.1 404 Not Found\r\nConnection: close\r\ncontent-length: 2\r\n\r\n{}", 404, false],
  ["HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", 200, false],
  [
    "HTTP/1.0 with keep-alive; a repeated header, the last wins",
    "HTTP/1.0 200 OK\r\nCONNECTION: close\r\nConnection:  Keep-Alive \r\ncontent-length: 9\r\ncontent-length: 2\r\n\r\nok",
    200,
    true,
  ],
];

test("the response parser frames each kind of answer however the bytes are cut", () => {
  for (const [name, text, status, keepAlive] of CASES) {
    // whole, and cut at every single position, and at every pair of positions 7 apart
    const cuts: number[][] = [[]];
    for (let c = 1; c < text.length; c++) cuts.push([c], [c, c + 7]);
    for (const cut of cuts) {
      const { doneAt, p } = feedCut(text, cut);
      const pieces = 1 + cut.filter((c) => c > 0 && c < text.length).length;
      assert.equal(doneAt, pieces - 1, `${name}, cut at ${cut}: done with the last piece`);
      assert.equal(p.status, status, name);
      assert.equal(p.keepAlive, keepAlive, name);
    }
  }
});

test("the response parser: HEAD answers have no body, read-until-close ends at EOF, and reset starts the next answer", () => {
  const head = feedCut("HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n", [], true);
  assert.equal(head.doneAt, 0);
  const untilClose = feedCut("HTTP/1.1 200 OK\r\n\r\nsome bytes", [20]);
  assert.equal(untilClose.doneAt, -1);
  assert.equal(untilClose.p.keepAlive, false);
  assert.equal(untilClose.p.eof(), true);
  assert.equal(untilClose.p.done, true);
  const p = new ResponseParser();
  const whole = (text: string) => {
    const b = Buffer.from(text);
    return p.feed(b, 0, b.length);
  };
  assert.equal(whole("HTTP/1.1 201 Created\r\ncontent-length: 1\r\n\r\nx"), true);
  p.reset();
  assert.equal(whole("HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"), true);
  assert.equal(p.status, 202);
});

test("the response parser refuses what it cannot frame, by name", () => {
  const bad: Array<[string, RegExp]> = [
    ["SSH-2.0-OpenSSH\r\n\r\n", /not an HTTP\/1\.x status line/],
    ["HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nxy", /past the end of a response/],
    ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", /bad chunk size line/],
    ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n", /longer than its size/],
    ["HTTP/1.1 100 Continue\r\n\r\n", /interim answer 100/],
    ["HTTP/1.1 2x0 OK\r\n\r\n", /not an HTTP\/1\.x status line: "HTTP\/1\.1 2x0 OK"/],
    ["HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\n", /bad content-length/],
    ["HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", /bad content-length/],
  ];
  for (const [text, message] of bad) {
    assert.throws(
      () => new ResponseParser().feed(Buffer.from(text, "latin1"), 0, text.length),
      (e: Error) => e instanceof WireProtocolError && message.test(e.message),
      text,
    );
  }
});

test("a request is encoded once with Host, the caller's headers and the body's length; line breaks in headers are refused", () => {
  const b = encodeRequest({
    method: "POST",
    path: "/api/x?y=1",
    host: "127.0.0.1:8080",
    headers: { "content-type": "application/json", "Content-Length": "999" },
    body: '{"é":1}',
  });
  assert.equal(
    b.toString(),
    'POST /api/x?y=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{"é":1}',
  );
  assert.throws(
    () => encodeRequest({ method: "GET", path: "/", host: "h", headers: { x: "a\r\nInjected: 1" } }),
    /line break/,
  );
});
