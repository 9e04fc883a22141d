"""A real AWS client against `appmesh-conformance serve`: boto3 must create a mesh, create the
documented example virtual node, describe it, list it with pagination, delete it, and raise
ConflictException, NotFoundException and BadRequestException as those classes.

Usage: python boto3_round_trip.py ENDPOINT_URL
Exits 0 when every step holds; prints the step that failed otherwise.
"""

import sys
import uuid

import boto3


def main(endpoint: str) -> None:
    client = boto3.client(
        "appmesh",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIDBOTO3TEST",
        aws_secret_access_key="boto3-test-secret",
    )
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
    print("boto3 round trip: ok")


if __name__ == "__main__":
    main(sys.argv[1])
