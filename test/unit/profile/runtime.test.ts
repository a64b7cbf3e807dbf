import assert from "node:assert/strict";
import { test } from "node:test";
import { isNode, notNodeReason, processImage } from "../../../harness/profile/runtime.js";

test("this process runs node, per /proc", () => {
  const image = processImage(process.pid);
  assert.ok(image, "Linux has /proc");
  assert.equal(isNode(image.exe), true, image.exe);
  assert.equal(notNodeReason(image), undefined);
  assert.equal(processImage(2 ** 22 + 7), undefined, "no such process");
});

test("Node's executables by name; anything else is not Node", () => {
  for (const exe of ["/usr/bin/node", "/usr/local/bin/nodejs", "/opt/node20"]) assert.equal(isNode(exe), true, exe);
  for (const exe of ["/usr/bin/python3.11", "/usr/bin/bun", "/usr/bin/nodemon"]) assert.equal(isNode(exe), false, exe);
});

test("a service that is not Node: one line that says cpuprof needs Node and names what would profile this one", () => {
  assert.equal(
    notNodeReason({ exe: "/root/.pyenv/versions/3.11.7/bin/python3.11", argv: ["python3", "svc.py"] }),
    "cpuprof needs a Node service, and the service's listening process runs /root/.pyenv/versions/3.11.7/bin/python3.11 (python3 svc.py); py-spy (py-spy record -- python3 svc.py) or Linux perf would profile this Python service",
  );
  assert.match(
    notNodeReason({ exe: "/usr/bin/ruby3.1", argv: ["ruby", "app.rb"] })!,
    /rbspy \(rbspy record -- ruby app\.rb\) or Linux perf would profile this Ruby service$/,
  );
  assert.match(
    notNodeReason({ exe: "/srv/bin/server", argv: ["./server", "--port", "8080"] })!,
    /runs \/srv\/bin\/server \(\.\/server --port 8080\); Linux perf \(perf record -g -- \.\/server --port 8080\) would profile it$/,
  );
});
