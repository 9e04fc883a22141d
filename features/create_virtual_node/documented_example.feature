@documented-example @op:CreateVirtualNode
Feature: CreateVirtualNode with the documented example request
  The API reference gives one sample request: a virtual node called colorgateway-vn with an HTTP
  listener on port 9080, DNS service discovery and two virtual-service backends. Any conformant
  target creates exactly that node, answers with its full description and describes it back.

  Background:
    Given a fresh mesh

  Scenario: The documented example request creates the virtual node it describes
    When I create a virtual node with this request body:
      """
      {
        "spec": {
          "listeners": [
            { "portMapping": { "port": 9080, "protocol": "http" } }
          ],
          "serviceDiscovery": {
            "dns": { "hostname": "colorgateway.default.svc.cluster.local" }
          },
          "backends": [
            { "virtualService": { "virtualServiceName": "tcpecho.default.svc.cluster.local" } },
            { "virtualService": { "virtualServiceName": "colorteller.default.svc.cluster.local" } }
          ]
        },
        "virtualNodeName": "colorgateway-vn",
        "clientToken": "${fresh-token}"
      }
      """
    Then the virtual node is created
    And the ARN names the mesh and the virtual node
    And the version is 1
    And createdAt is within 5 minutes of the local clock
    And lastUpdatedAt is not before createdAt
    And meshOwner and resourceOwner are 12-digit account ids
    And the uid is not empty
    And the status is ACTIVE
    And the mesh name and virtual node name are echoed
    And the echoed spec equals the sent spec once null members are dropped
    And DescribeVirtualNode returns the same virtual node
