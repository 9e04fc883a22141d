"""A real AWS client against `appmesh-conformance serve`: boto3 must create a mesh, create the
documented example virtual node, describe it, list it with pagination, delete it, and raise
ConflictException, NotFoundException and BadRequestException as those classes. It also sends the
full specs of full-specs.json (members of the final API: connection pools, outlier detection, TLS
with SDS and subject alternative names, access-log formats, IP preference) and must read back
exactly what it sent. Then it plays lifecycle.json: the lifecycle of every resource type (create,
describe, update, list, tags, in-use conflicts, delete, gone), call by call.

With --verify-sigv4 the server checks signatures: boto3 signs with the emulator's default
credentials and must be accepted, while a wrong secret and an unsigned request must be refused.

Usage: python boto3_round_trip.py ENDPOINT_URL [--verify-sigv4]
Exits 0 when every step holds; prints the step that failed otherwise.
"""

import json
import os
import re
import sys
import uuid

import boto3
import botocore
from botocore.exceptions import ClientError

# The emulator's documented defaults for --access-key and --secret-key: test values, not secrets.
ACCESS_KEY = "AKIDAPPMESHCONFORMANCE"
SECRET_KEY = "appmesh-conformance-embedded-secret"


def appmesh(endpoint: str, secret: str = SECRET_KEY, **config):
    return boto3.client(
        "appmesh",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secret,
        config=botocore.config.Config(retries={"max_attempts": 1}, **config),
    )


def refused(call, code: str) -> None:
    try:
        call()
    except ClientError as error:
        assert error.response["Error"]["Code"] == code, error.response
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403, error.response
        return
    raise AssertionError(f"expected {code}, the call succeeded")


def full_specs_round_trip(client) -> None:
    """Every member sent comes back, from the create and from the describe."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "full-specs.json")) as file:
        specs = json.load(file)
    mesh = f"boto3-full-{uuid.uuid4().hex[:8]}"
    created = client.create_mesh(meshName=mesh, spec=specs["mesh"])["mesh"]
    assert created["spec"] == specs["mesh"], (created["spec"], specs["mesh"])
    assert client.describe_mesh(meshName=mesh)["mesh"]["spec"] == specs["mesh"]
    for name in ("virtualNodeCloudMap", "virtualNodeDns"):
        node = client.create_virtual_node(meshName=mesh, virtualNodeName=name, spec=specs[name])["virtualNode"]
        assert node["spec"] == specs[name], (name, node["spec"], specs[name])
        described = client.describe_virtual_node(meshName=mesh, virtualNodeName=name)["virtualNode"]
        assert described["spec"] == specs[name], (name, described["spec"], specs[name])
        client.delete_virtual_node(meshName=mesh, virtualNodeName=name)
    client.delete_mesh(meshName=mesh)


def fill(value, saved: dict):
    """`value` with every ${NAME} replaced by what an earlier call saved under NAME."""
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: saved[m.group(1)], value)
    if isinstance(value, list):
        return [fill(item, saved) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, saved) for key, item in value.items()}
    return value


def at(value, path: str):
    """The member of `value` at a dotted path (a number indexes a list); None when absent."""
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def play_lifecycle(client) -> None:
    """Every call of lifecycle.json, each answering what the plan expects."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "lifecycle.json")) as file:
        plan = json.load(file)
    saved = {"mesh": f"boto3-life-{uuid.uuid4().hex[:8]}"}
    for number, step in enumerate(plan["calls"]):
        call = fill(step["input"], saved)
        where = f"call {number} ({step['call']})"
        method = getattr(client, re.sub(r"(?<!^)(?=[A-Z])", "_", step["call"]).lower())
        try:
            answer = method(**call)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            assert step.get("error") == code, (where, error.response)
            continue
        assert "error" not in step, f"{where} succeeded; expected {step['error']}"
        for path, wanted in step.get("expect", {}).items():
            if isinstance(wanted, str) and wanted.startswith("=input."):
                wanted = at(call, wanted[len("=input."):])
            wanted = fill(wanted, saved)
            assert at(answer, path) == wanted, (where, path, at(answer, path), wanted)
        for name, path in step.get("save", {}).items():
            saved[name] = at(answer, path)
    print(f"boto3 lifecycle: {len(plan['calls'])} calls ok")


def main(endpoint: str, verify: bool) -> None:
    client = appmesh(endpoint)
    if verify:
        refused(lambda: appmesh(endpoint, secret="wrong-secret").create_mesh(meshName="x"), "InvalidSignatureException")
        unsigned = appmesh(endpoint, signature_version=botocore.UNSIGNED)
        refused(lambda: unsigned.create_mesh(meshName="x"), "MissingAuthenticationTokenException")
    mesh = f"boto3-{uuid.uuid4().hex[:8]}"
    client.create_mesh(meshName=mesh)
    spec = {
        "listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}],
        "serviceDiscovery": {"dns": {"hostname": "colorgateway.default.svc.cluster.local"}},
        "backends": [
            {"virtualService": {"virtualServiceName": "tcpecho.default.svc.cluster.local"}},
            {"virtualService": {"virtualServiceName": "colorteller.default.svc.cluster.local"}},
        ],
    }
    created = client.create_virtual_node(meshName=mesh, virtualNodeName="colorgateway-vn", spec=spec)["virtualNode"]
    assert created["metadata"]["version"] == 1, created
    assert created["status"]["status"] == "ACTIVE", created
    # boto3 parses epoch-second timestamps into datetimes: a string would have failed here.
    assert created["metadata"]["createdAt"].year >= 2024, created
    described = client.describe_virtual_node(meshName=mesh, virtualNodeName="colorgateway-vn")["virtualNode"]
    assert described["metadata"]["uid"] == created["metadata"]["uid"], (created, described)

    for i in range(3):
        client.create_virtual_node(meshName=mesh, virtualNodeName=f"extra-{i}", spec={})
    names = []
    paginator = client.get_paginator("list_virtual_nodes")
    for page in paginator.paginate(meshName=mesh, PaginationConfig={"PageSize": 2}):
        assert len(page["virtualNodes"]) <= 2, page
        names += [ref["virtualNodeName"] for ref in page["virtualNodes"]]
    assert sorted(names) == ["colorgateway-vn", "extra-0", "extra-1", "extra-2"], names

    try:
        client.create_virtual_node(meshName=mesh, virtualNodeName="colorgateway-vn", spec=spec)
        raise AssertionError("a duplicate name was accepted")
    except client.exceptions.ConflictException:
        pass
    token = str(uuid.uuid4())
    first = client.create_virtual_node(meshName=mesh, virtualNodeName="tokened", spec={}, clientToken=token)
    replay = client.create_virtual_node(meshName=mesh, virtualNodeName="tokened", spec={}, clientToken=token)
    assert replay["virtualNode"]["metadata"]["uid"] == first["virtualNode"]["metadata"]["uid"], (first, replay)
    try:
        client.create_virtual_node(meshName=mesh, virtualNodeName="tokened", spec=spec, clientToken=token)
        raise AssertionError("a reused token with a different spec was accepted")
    except client.exceptions.ConflictException:
        pass
    names.append("tokened")
    try:
        client.describe_virtual_node(meshName="no-such-mesh-" + mesh, virtualNodeName="x")
        raise AssertionError("an unknown mesh was found")
    except client.exceptions.NotFoundException:
        pass
    try:
        bad = {"listeners": [{"portMapping": {"port": 9080, "protocol": "HTTP"}}]}
        client.create_virtual_node(meshName=mesh, virtualNodeName="bad", spec=bad)
        raise AssertionError("an undocumented protocol was accepted")
    except client.exceptions.BadRequestException as error:
        assert "protocol" in str(error), error

    for name in names:
        deleted = client.delete_virtual_node(meshName=mesh, virtualNodeName=name)["virtualNode"]
        assert deleted["status"]["status"] == "DELETED", deleted
    client.delete_mesh(meshName=mesh)
    full_specs_round_trip(client)
    play_lifecycle(client)
    print("boto3 round trip: ok")


if __name__ == "__main__":
    main(sys.argv[1], "--verify-sigv4" in sys.argv[2:])
