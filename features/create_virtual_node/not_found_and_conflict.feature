@error @op:CreateVirtualNode
Feature: CreateVirtualNode refuses an unknown mesh and a name already taken
  A virtual node lives in a mesh: creating one in a mesh that does not exist is 404
  NotFoundException. Names are unique within a mesh: a second create with a taken name is 409
  ConflictException, whether it carries a new client token or none, and the first node stays as
  it was.

  Scenario: A virtual node cannot be created in a mesh that does not exist
    Given a mesh that does not exist
    When I create a virtual node with this request body:
      """
      {
        "virtualNodeName": "orphan-vn",
        "spec": { "listeners": [ { "portMapping": { "port": 8080, "protocol": "tcp" } } ] },
        "clientToken": "${fresh-token}"
      }
      """
    Then the request fails with NotFoundException
    And no virtual node named "orphan-vn" exists in the mesh

  Scenario: A taken name with a new client token is a conflict
    Given a fresh mesh
    When I create a virtual node with this request body:
      """
      {
        "virtualNodeName": "taken-vn",
        "spec": { "serviceDiscovery": { "dns": { "hostname": "taken.local" } } },
        "clientToken": "${fresh-token}"
      }
      """
    Then the virtual node is created
    When I send the same request again with a new client token
    Then the request fails with ConflictException
    And the mesh holds exactly 1 virtual node
    And the first virtual node is unchanged

  Scenario: A taken name without a client token is a conflict
    Given a fresh mesh
    When I create a virtual node with this request body:
      """
      {
        "virtualNodeName": "taken-vn",
        "spec": { "listeners": [ { "portMapping": { "port": 443, "protocol": "http2" } } ] }
      }
      """
    Then the virtual node is created
    When I send the same request again
    Then the request fails with ConflictException
    And the mesh holds exactly 1 virtual node
    And the first virtual node is unchanged
