"""boto3 calls that reach as much of App Mesh's behaviour as a client can: creates, reads,
updates and deletes of every kind a mesh holds, an idempotent replay and a token reused with
another request, a duplicate name, invalid values sent with boto3's own validation off, values
at the documented bounds, an unknown mesh, a router deleted while it holds a route, a route under
a deleted router, tags past 50, and a burst. The service's refusals are expected and ignored:
the traffic is what `proxy` judges (tests/it/proxy.rs). Removes everything it made.

usage: python boto3_probe.py ENDPOINT [--burst N] [ENDPOINT [--burst N]]...

Several endpoints are probed at once, four at a time, each with its own client: one Python for
every target saves the interpreter's and boto3's start-up per target.
"""

import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def targets(args):
    """[(endpoint, burst)] from the command line."""
    found = []
    index = 0
    while index < len(args):
        if args[index] == "--burst" and found:
            found[-1] = (found[-1][0], int(args[index + 1]))
            index += 2
        else:
            found.append((args[index], 0))
            index += 1
    return found


def main():
    probes = targets(sys.argv[1:])
    if not probes:
        sys.exit(__doc__)
    # Clients are made one after another: boto3's default session is not for threads.
    clients = [
        boto3.client(
            "appmesh",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="AKIDPROBE",
            aws_secret_access_key="probe-secret",
            config=Config(parameter_validation=False, retries={"max_attempts": 2, "mode": "standard"}),
        )
        for endpoint, _ in probes
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        lines = list(pool.map(probe, clients, [burst for _, burst in probes]))
    for (endpoint, _), line in zip(probes, lines):
        print(f"boto3 probe: {endpoint}: {line}")


def probe(client, burst):
    run = uuid.uuid4().hex[:8]
    mesh = f"probe-{run}"
    calls = {"sent": 0, "refused": 0}

    def call(name, **params):
        calls["sent"] += 1
        try:
            return getattr(client, name)(**params)
        except ClientError:
            calls["refused"] += 1
            return None

    def node_spec(port=8080, protocol="http"):
        return {
            "listeners": [{"portMapping": {"port": port, "protocol": protocol}}],
            "serviceDiscovery": {"dns": {"hostname": "probe.local"}},
        }

    call("create_mesh", meshName=mesh)
    call("describe_mesh", meshName=mesh)
    token = str(uuid.uuid4())
    call("create_virtual_node", meshName=mesh, virtualNodeName="node", spec=node_spec(), clientToken=token)
    # The same token and request: the first node again.
    call("create_virtual_node", meshName=mesh, virtualNodeName="node", spec=node_spec(), clientToken=token)
    # The same token with another request: a conflict.
    call("create_virtual_node", meshName=mesh, virtualNodeName="node", spec=node_spec(9090), clientToken=token)
    # The same name without a token: a conflict.
    call("create_virtual_node", meshName=mesh, virtualNodeName="node", spec=node_spec())
    call("describe_virtual_node", meshName=mesh, virtualNodeName="node")
    call("update_virtual_node", meshName=mesh, virtualNodeName="node", spec=node_spec(8081))
    call("list_virtual_nodes", meshName=mesh)

    # Invalid by the model, sent anyway.
    call("create_virtual_node", meshName=mesh, virtualNodeName="port-zero", spec=node_spec(0))
    call("create_virtual_node", meshName=mesh, virtualNodeName="bad-enum", spec=node_spec(8080, "carrier-pigeon"))
    call("create_virtual_node", meshName=mesh, virtualNodeName="x" * 256, spec=node_spec())
    tags = [{"key": f"k{i}", "value": "v"} for i in range(51)]
    call("create_virtual_node", meshName=mesh, virtualNodeName="tags-51", spec=node_spec(), tags=tags)
    # At the documented bounds: valid.
    call("create_virtual_node", meshName=mesh, virtualNodeName="max-port", spec=node_spec(65535))
    call("create_virtual_node", meshName=mesh, virtualNodeName="y" * 255, spec=node_spec())
    call("create_virtual_node", meshName=mesh, virtualNodeName="tags-50", spec=node_spec(), tags=tags[:50])
    for name in ["port-zero", "bad-enum", "x" * 256, "tags-51", "max-port", "y" * 255, "tags-50"]:
        call("delete_virtual_node", meshName=mesh, virtualNodeName=name)

    # An unknown mesh.
    call("describe_mesh", meshName=f"probe-missing-{run}")
    call("create_virtual_node", meshName=f"probe-missing-{run}", virtualNodeName="n", spec=node_spec())

    # A router with a route, deleted anyway; a route under a router that is gone.
    router_spec = {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}]}
    route_spec = {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": [{"virtualNode": "node", "weight": 1}]}}}
    call("create_virtual_router", meshName=mesh, virtualRouterName="router", spec=router_spec)
    call("create_route", meshName=mesh, virtualRouterName="router", routeName="route", spec=route_spec)
    call("delete_virtual_router", meshName=mesh, virtualRouterName="router")
    call("delete_route", meshName=mesh, virtualRouterName="router", routeName="route")
    call("delete_virtual_router", meshName=mesh, virtualRouterName="router")
    call("create_virtual_router", meshName=mesh, virtualRouterName="gone", spec=router_spec)
    call("delete_virtual_router", meshName=mesh, virtualRouterName="gone")
    call("create_route", meshName=mesh, virtualRouterName="gone", routeName="orphan", spec=route_spec)
    call("delete_route", meshName=mesh, virtualRouterName="gone", routeName="orphan")

    # A gateway and its route to a virtual service.
    service = "probe.svc.local"
    call("create_virtual_service", meshName=mesh, virtualServiceName=service,
         spec={"provider": {"virtualNode": {"virtualNodeName": "node"}}})
    call("create_virtual_gateway", meshName=mesh, virtualGatewayName="gateway",
         spec={"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}]})
    call("create_gateway_route", meshName=mesh, virtualGatewayName="gateway", gatewayRouteName="groute",
         spec={"httpRoute": {"match": {"prefix": "/"},
                             "action": {"target": {"virtualService": {"virtualServiceName": service}}}}})
    call("describe_gateway_route", meshName=mesh, virtualGatewayName="gateway", gatewayRouteName="groute")

    # Tags past 50 on one resource, in two calls.
    described = call("describe_virtual_node", meshName=mesh, virtualNodeName="node")
    if described:
        arn = described["virtualNode"]["metadata"]["arn"]
        call("tag_resource", resourceArn=arn, tags=[{"key": f"a{i}", "value": "v"} for i in range(30)])
        call("tag_resource", resourceArn=arn, tags=[{"key": f"b{i}", "value": "v"} for i in range(30)])
        call("list_tags_for_resource", resourceArn=arn)

    for _ in range(burst):
        call("list_meshes")

    call("delete_gateway_route", meshName=mesh, virtualGatewayName="gateway", gatewayRouteName="groute")
    call("delete_virtual_gateway", meshName=mesh, virtualGatewayName="gateway")
    call("delete_virtual_service", meshName=mesh, virtualServiceName=service)
    call("delete_virtual_node", meshName=mesh, virtualNodeName="node")
    call("delete_mesh", meshName=mesh)
    return f"{calls['sent']} calls, {calls['refused']} refused"


if __name__ == "__main__":
    main()
