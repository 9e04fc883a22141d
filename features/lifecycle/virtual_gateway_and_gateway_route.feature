@lifecycle @kind:VirtualGateway @kind:GatewayRoute
Feature: The lifecycle of a virtual gateway and its gateway routes
  A gateway route lives in a virtual gateway and sends traffic to a virtual service. A gateway
  with gateway routes cannot be deleted, nor can a virtual service that a gateway route targets.

  Scenario: A gateway and a gateway route are created, updated and deleted, children first
    Given a fresh mesh
    When I send CreateVirtualGateway with this input:
      """
      {"meshName": "${mesh}", "virtualGatewayName": "vg", "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}]}}
      """
    Then the request succeeds as documented
    And its version is 1
    And its ARN names it and its parents
    And its list entry agrees with it
    When I send CreateVirtualService with this input:
      """
      {"meshName": "${mesh}", "virtualServiceName": "svc.local", "spec": {}}
      """
    Then the request is accepted
    When I send CreateGatewayRoute with this input:
      """
      {"meshName": "${mesh}", "virtualGatewayName": "vg", "gatewayRouteName": "gr", "spec": {"httpRoute": {"match": {"prefix": "/"}, "action": {"target": {"virtualService": {"virtualServiceName": "svc.local"}}}}}}
      """
    Then the request succeeds as documented
    And its version is 1
    And its ARN names it and its parents
    And its list entry agrees with it
    When I send UpdateGatewayRoute with this input:
      """
      {"meshName": "${mesh}", "virtualGatewayName": "vg", "gatewayRouteName": "gr", "spec": {"httpRoute": {"match": {"prefix": "/v2"}, "action": {"target": {"virtualService": {"virtualServiceName": "svc.local"}}}}}}
      """
    Then the request succeeds as documented
    And its version is 2
    And it kept its identity and lastUpdatedAt did not go back
    When I send DeleteVirtualGateway with this input:
      """
      {"meshName": "${mesh}", "virtualGatewayName": "vg"}
      """
    Then the request fails with ResourceInUseException
    When I send DeleteVirtualService with this input:
      """
      {"meshName": "${mesh}", "virtualServiceName": "svc.local"}
      """
    Then the request fails with ResourceInUseException
    When I send DeleteGatewayRoute with this input:
      """
      {"meshName": "${mesh}", "virtualGatewayName": "vg", "gatewayRouteName": "gr"}
      """
    Then the request succeeds as documented
    And its status is DELETED
    And it is gone
    When I send DeleteVirtualGateway with this input:
      """
      {"meshName": "${mesh}", "virtualGatewayName": "vg"}
      """
    Then its status is DELETED
    And it is gone
