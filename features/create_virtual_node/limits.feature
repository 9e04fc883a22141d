@limits @serial @op:CreateVirtualNode
Feature: CreateVirtualNode enforces the virtual-node quota of a mesh
  A mesh holds at most its quota of virtual nodes (200 by default in App Mesh; the target profile
  declares it with node_quota or --node-quota). One more is 400 LimitExceededException and creates
  nothing; a refused request is not remembered as a success under its client token; deleting a
  node frees its place. A list of tags is a constraint, not a quota: 51 tags is a bad request.

  Background:
    Given a fresh mesh

  Scenario: A mesh full to its quota refuses one more virtual node until one is deleted
    Given the mesh holds as many virtual nodes as the declared quota
    When I create one more virtual node with a client token
    Then the request fails with LimitExceededException
    And the mesh holds exactly the declared quota of virtual nodes
    When I send the same request again
    Then the request fails with LimitExceededException
    When I delete one virtual node of the mesh
    And I send the same request again
    Then the request succeeds as documented
    And the mesh holds exactly the declared quota of virtual nodes

  Scenario: 51 tags are a bad request, not a quota
    When I send CreateVirtualNode with this input:
      """
      {
        "meshName": "${mesh}",
        "virtualNodeName": "tagged-vn",
        "spec": {},
        "tags": [
          {"key": "k01", "value": "v"}, {"key": "k02", "value": "v"}, {"key": "k03", "value": "v"},
          {"key": "k04", "value": "v"}, {"key": "k05", "value": "v"}, {"key": "k06", "value": "v"},
          {"key": "k07", "value": "v"}, {"key": "k08", "value": "v"}, {"key": "k09", "value": "v"},
          {"key": "k10", "value": "v"}, {"key": "k11", "value": "v"}, {"key": "k12", "value": "v"},
          {"key": "k13", "value": "v"}, {"key": "k14", "value": "v"}, {"key": "k15", "value": "v"},
          {"key": "k16", "value": "v"}, {"key": "k17", "value": "v"}, {"key": "k18", "value": "v"},
          {"key": "k19", "value": "v"}, {"key": "k20", "value": "v"}, {"key": "k21", "value": "v"},
          {"key": "k22", "value": "v"}, {"key": "k23", "value": "v"}, {"key": "k24", "value": "v"},
          {"key": "k25", "value": "v"}, {"key": "k26", "value": "v"}, {"key": "k27", "value": "v"},
          {"key": "k28", "value": "v"}, {"key": "k29", "value": "v"}, {"key": "k30", "value": "v"},
          {"key": "k31", "value": "v"}, {"key": "k32", "value": "v"}, {"key": "k33", "value": "v"},
          {"key": "k34", "value": "v"}, {"key": "k35", "value": "v"}, {"key": "k36", "value": "v"},
          {"key": "k37", "value": "v"}, {"key": "k38", "value": "v"}, {"key": "k39", "value": "v"},
          {"key": "k40", "value": "v"}, {"key": "k41", "value": "v"}, {"key": "k42", "value": "v"},
          {"key": "k43", "value": "v"}, {"key": "k44", "value": "v"}, {"key": "k45", "value": "v"},
          {"key": "k46", "value": "v"}, {"key": "k47", "value": "v"}, {"key": "k48", "value": "v"},
          {"key": "k49", "value": "v"}, {"key": "k50", "value": "v"}, {"key": "k51", "value": "v"}
        ]
      }
      """
    Then the request fails with BadRequestException
    And nothing was created
