@lifecycle @kind:Mesh
Feature: The lifecycle of a mesh
  A mesh is updated in place: its version goes up by one, its spec is replaced, and its
  createdAt, uid and ARN stay. It cannot be deleted while it holds resources.

  Scenario: A mesh is updated, refuses a delete while it holds a virtual router, then is deleted
    Given a fresh mesh
    When I send DescribeMesh with this input:
      """
      {"meshName": "${mesh}"}
      """
    Then the request succeeds as documented
    And its version is 1
    And its status is ACTIVE
    And its ARN names it and its parents
    When I send UpdateMesh with this input:
      """
      {"meshName": "${mesh}", "spec": {"egressFilter": {"type": "ALLOW_ALL"}}, "clientToken": "${fresh-token}"}
      """
    Then the request succeeds as documented
    And its version is 2
    And it kept its identity and lastUpdatedAt did not go back
    And its list entry agrees with it
    When I send the same request again
    Then its version is 2
    When I send CreateVirtualRouter with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr", "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}]}}
      """
    Then the request is accepted
    When I send DeleteMesh with this input:
      """
      {"meshName": "${mesh}"}
      """
    Then the request fails with ResourceInUseException
    When I send DeleteVirtualRouter with this input:
      """
      {"meshName": "${mesh}", "virtualRouterName": "vr"}
      """
    Then the request is accepted
    When I send DeleteMesh with this input:
      """
      {"meshName": "${mesh}"}
      """
    Then the request succeeds as documented
    And its status is DELETED
    And it is gone
