@idempotency @op:CreateVirtualNode
Feature: CreateVirtualNode is idempotent under a client token
  A client token makes a create safe to retry: the same token with the same request returns the
  node the first request created, and creates nothing more. The same token with a different
  request is a conflict, and the first node stays as it was.

  Background:
    Given a fresh mesh
    When I create a virtual node with this request body:
      """
      {
        "virtualNodeName": "replayed-vn",
        "spec": { "listeners": [ { "portMapping": { "port": 9080, "protocol": "http" } } ] },
        "clientToken": "${fresh-token}"
      }
      """
    Then the request is accepted

  Scenario: The same token with the same request returns the same virtual node
    When I send the same request again
    Then the same virtual node is returned
    And the mesh holds exactly 1 virtual node
    And the first virtual node is unchanged

  Scenario: The same token with different tags is a conflict
    When I send the same request again with these tags:
      """
      [ { "key": "team", "value": "colors" } ]
      """
    Then the request fails with ConflictException
    And the mesh holds exactly 1 virtual node
    And the first virtual node is unchanged

  Scenario: The same token for another name is a conflict
    When I send the same request again with the virtual node name "another-vn"
    Then the request fails with ConflictException
    And no virtual node named "another-vn" exists in the mesh
    And the first virtual node is unchanged

  Scenario: The same token in another mesh is a conflict
    When I send the same request again in another fresh mesh
    Then the request fails with ConflictException
    And nothing was created
    And the first virtual node is unchanged

  Scenario: The same name with a new token, or with none, is a conflict
    When I send the same request again with a new client token
    Then the request fails with ConflictException
    When I send the same request again without a client token
    Then the request fails with ConflictException
    And the mesh holds exactly 1 virtual node
    And the first virtual node is unchanged

  Scenario: The same token with a different spec is a conflict
    When I send the same request again with this spec:
      """
      { "listeners": [ { "portMapping": { "port": 8080, "protocol": "http" } } ] }
      """
    Then the request fails with ConflictException
    And the mesh holds exactly 1 virtual node
    And the first virtual node is unchanged
