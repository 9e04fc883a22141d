@lifecycle @kind:VirtualService
Feature: The lifecycle of a virtual service and its provider
  A virtual service is provided by a virtual node or router, or by none. A virtual node that
  provides a service cannot be deleted.

  Scenario: A virtual service changes provider and keeps its provider from being deleted
    Given a fresh mesh
    When I send CreateVirtualNode with this input:
      """
      {"meshName": "${mesh}", "virtualNodeName": "vn", "spec": {}}
      """
    Then the request is accepted
    When I send CreateVirtualService with this input:
      """
      {"meshName": "${mesh}", "virtualServiceName": "svc.local", "spec": {}}
      """
    Then the request succeeds as documented
    And its version is 1
    And its ARN names it and its parents
    When I send UpdateVirtualService with this input:
      """
      {"meshName": "${mesh}", "virtualServiceName": "svc.local", "spec": {"provider": {"virtualNode": {"virtualNodeName": "vn"}}}}
      """
    Then the request succeeds as documented
    And its version is 2
    And it kept its identity and lastUpdatedAt did not go back
    And its list entry agrees with it
    When I send DeleteVirtualNode with this input:
      """
      {"meshName": "${mesh}", "virtualNodeName": "vn"}
      """
    Then the request fails with ResourceInUseException
    When I send DeleteVirtualService with this input:
      """
      {"meshName": "${mesh}", "virtualServiceName": "svc.local"}
      """
    Then the request succeeds as documented
    And its status is DELETED
    And it is gone
