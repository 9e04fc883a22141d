// The AWS SDK for JavaScript v3 against `appmesh-conformance serve`: create a mesh and virtual
// nodes with the full specs of ../full-specs.json, read them back unchanged (from the create, the
// describe and the list), see the documented errors as the SDK's typed exceptions, delete. Then
// play ../lifecycle.json: the lifecycle of every resource type, call by call.
//
// Usage: node round_trip.mjs ENDPOINT_URL
// Prints "js sdk round trip: ok" and exits 0 when every step holds.
import { readFileSync } from "node:fs";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as sdk from "@aws-sdk/client-app-mesh";
import {
  AppMeshClient,
  ConflictException,
  CreateMeshCommand,
  CreateVirtualNodeCommand,
  DeleteMeshCommand,
  DeleteVirtualNodeCommand,
  DescribeMeshCommand,
  DescribeVirtualNodeCommand,
  ListVirtualNodesCommand,
  NotFoundException,
  BadRequestException,
} from "@aws-sdk/client-app-mesh";

const endpoint = process.argv[2];
// The emulator's documented defaults for --access-key and --secret-key: test values, not secrets.
const client = new AppMeshClient({
  endpoint,
  region: "us-east-1",
  maxAttempts: 1,
  credentials: { accessKeyId: "AKIDAPPMESHCONFORMANCE", secretAccessKey: "appmesh-conformance-embedded-secret" },
});
const specs = JSON.parse(readFileSync(new URL("../full-specs.json", import.meta.url), "utf8"));

async function rejects(promise, type) {
  try {
    await promise;
  } catch (error) {
    ok(error instanceof type, `expected ${type.name}, got ${error.name}: ${error.message}`);
    return;
  }
  throw new Error(`expected ${type.name}, the call succeeded`);
}

const meshName = `js-${randomUUID().slice(0, 8)}`;
const mesh = (await client.send(new CreateMeshCommand({ meshName, spec: specs.mesh }))).mesh;
deepStrictEqual(mesh.spec, specs.mesh);
strictEqual(mesh.metadata.version, 1);
ok(mesh.metadata.createdAt instanceof Date && mesh.metadata.createdAt.getFullYear() >= 2024, "createdAt is a date");
deepStrictEqual((await client.send(new DescribeMeshCommand({ meshName }))).mesh.spec, specs.mesh);

const names = ["virtualNodeCloudMap", "virtualNodeDns"];
for (const virtualNodeName of names) {
  const created = (await client.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName, spec: specs[virtualNodeName] }))).virtualNode;
  deepStrictEqual(created.spec, specs[virtualNodeName]);
  strictEqual(created.status.status, "ACTIVE");
  const described = (await client.send(new DescribeVirtualNodeCommand({ meshName, virtualNodeName }))).virtualNode;
  deepStrictEqual(described.spec, specs[virtualNodeName]);
  strictEqual(described.metadata.uid, created.metadata.uid);
}
const listed = (await client.send(new ListVirtualNodesCommand({ meshName }))).virtualNodes.map((ref) => ref.virtualNodeName);
deepStrictEqual([...listed].sort(), [...names].sort());

await rejects(client.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName: names[0], spec: {} })), ConflictException);
await rejects(client.send(new DescribeVirtualNodeCommand({ meshName: `${meshName}-missing`, virtualNodeName: "x" })), NotFoundException);
const badPort = { listeners: [{ portMapping: { port: 0, protocol: "http" } }] };
await rejects(client.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName: "bad", spec: badPort })), BadRequestException);

for (const virtualNodeName of names) {
  const deleted = (await client.send(new DeleteVirtualNodeCommand({ meshName, virtualNodeName }))).virtualNode;
  strictEqual(deleted.status.status, "DELETED");
}
await client.send(new DeleteMeshCommand({ meshName }));

// `value` with every ${NAME} replaced by what an earlier call saved under NAME.
function fill(value, saved) {
  if (typeof value === "string") return value.replace(/\$\{(\w+)\}/g, (_, name) => saved[name]);
  if (Array.isArray(value)) return value.map((item) => fill(item, saved));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, saved)]));
  return value;
}
// The member of `value` at a dotted path (a number indexes a list).
const at = (value, path) => path.split(".").reduce((v, part) => (v == null ? undefined : v[part]), value) ?? null;

const plan = JSON.parse(readFileSync(new URL("../lifecycle.json", import.meta.url), "utf8"));
const saved = { mesh: `js-life-${randomUUID().slice(0, 8)}` };
for (const [number, step] of plan.calls.entries()) {
  const input = fill(step.input, saved);
  const where = `call ${number} (${step.call})`;
  let answer;
  try {
    answer = await client.send(new sdk[`${step.call}Command`](input));
  } catch (error) {
    strictEqual(error.name, step.error, `${where}: ${error.name}: ${error.message}`);
    continue;
  }
  ok(!step.error, `${where} succeeded; expected ${step.error}`);
  for (const [path, expected] of Object.entries(step.expect ?? {})) {
    const wanted = typeof expected === "string" && expected.startsWith("=input.") ? at(input, expected.slice(7)) : fill(expected, saved);
    deepStrictEqual(at(answer, path), wanted, `${where}: ${path}`);
  }
  for (const [name, path] of Object.entries(step.save ?? {})) saved[name] = at(answer, path);
}
console.log(`js sdk lifecycle: ${plan.calls.length} calls ok`);
console.log("js sdk round trip: ok");
