// The AWS SDK for JavaScript v3 against `appmesh-conformance serve`: create a mesh and virtual
// nodes with the full specs of ../full-specs.json, read them back unchanged (from the create, the
// describe and the list), see the documented errors as the SDK's typed exceptions, delete.
//
// Usage: node round_trip.mjs ENDPOINT_URL
// Prints "js sdk round trip: ok" and exits 0 when every step holds.
import { readFileSync } from "node:fs";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { randomUUID } from "node:crypto";
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
console.log("js sdk round trip: ok");
