@lifecycle @kind:VirtualRouter @kind:Route
Feature: The lifecycle of a virtual router and its routes
  A route lives in a virtual router and sends traffic to existing virtual nodes. A router with
  routes cannot be deleted, nor can a virtual node that a route targets.

  Scenario: A router and a route are created, updated and deleted, children and targets first
    Given a fresh mesh
    When I send CreateVirtualNode with this input:
      """
      {"meshName": "${mesh}", "virtualNodeName": "vn", "spec": {}}
      """
    Then the request is accepted
    When I send CreateVirtualRouter with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr", "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}]}}
      """
    Then the request succeeds as documented
    And its version is 1
    And its ARN names it and its parents
    When I send UpdateVirtualRouter with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr", "spec": {"listeners": [{"portMapping": {"port": 9090, "protocol": "http"}}]}}
      """
    Then the request succeeds as documented
    And its version is 2
    And it kept its identity and lastUpdatedAt did not go back
    When I send CreateRoute with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr", "routeName": "r", "spec": {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": [{"virtualNode": "vn", "weight": 1}]}}}}
      """
    Then the request succeeds as documented
    And its version is 1
    And its ARN names it and its parents
    And its list entry agrees with it
    When I send UpdateRoute with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr", "routeName": "r", "spec": {"httpRoute": {"match": {"prefix": "/v2"}, "action": {"weightedTargets": [{"virtualNode": "vn", "weight": 2}]}}}}
      """
    Then the request succeeds as documented
    And its version is 2
    And it kept its identity and lastUpdatedAt did not go back
    When I send DeleteVirtualRouter with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr"}
      """
    Then the request fails with ResourceInUseException
    When I send DeleteVirtualNode with this input:
      """
      {"meshName": "${mesh}", "virtualNodeName": "vn"}
      """
    Then the request fails with ResourceInUseException
    When I send DeleteRoute with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr", "routeName": "r"}
      """
    Then the request succeeds as documented
    And its status is DELETED
    And it is gone
    When I send DeleteVirtualRouter with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr"}
      """
    Then its status is DELETED
    And it is gone

  Scenario: A route in a virtual router that does not exist is NotFoundException
    Given a fresh mesh
    When I send CreateVirtualNode with this input:
      """
      {"meshName": "${mesh}", "virtualNodeName": "vn", "spec": {}}
      """
    Then the request is accepted
    When I send CreateRoute with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "absent", "routeName": "r", "spec": {"tcpRoute": {"action": {"weightedTargets": [{"virtualNode": "vn", "weight": 1}]}}}}
      """
    Then the request fails with NotFoundException

  Scenario: A route whose weighted target does not exist is NotFoundException
    Given a fresh mesh
    When I send CreateVirtualRouter with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr", "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "tcp"}}]}}
      """
    Then the request is accepted
    When I send CreateRoute with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr", "routeName": "r", "spec": {"tcpRoute": {"action": {"weightedTargets": [{"virtualNode": "absent", "weight": 1}]}}}}
      """
    Then the request fails with NotFoundException
    And nothing was created
