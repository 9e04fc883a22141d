@lifecycle @kind:VirtualNode
Feature: The lifecycle of a virtual node, and tags
  A virtual node is created at version 1; an update replaces its spec and adds 1 to its version;
  its list shows it; a delete answers it DELETED and it is gone. Tags are added, replaced and
  removed by ARN, and a resource holds at most 50 (TooManyTagsException). Whether TagResource
  counts the tags a resource already has is left open, so a target that takes the 51st is
  reported, not failed.

  Scenario: A virtual node is created, updated, listed, deleted and gone
    Given a fresh mesh
    When I send CreateVirtualNode with this input:
      """
      {"meshName": "${mesh}", "virtualNodeName": "vn", "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}], "serviceDiscovery": {"dns": {"hostname": "vn.local"}}}}
      """
    Then the request succeeds as documented
    And its version is 1
    And its ARN names it and its parents
    When I send UpdateVirtualNode with this input:
      """
      {"meshName": "${mesh}", "virtualNodeName": "vn", "spec": {"backends": [{"virtualService": {"virtualServiceName": "backend.local"}}]}, "clientToken": "${fresh-token}"}
      """
    Then the request succeeds as documented
    And its version is 2
    And it kept its identity and lastUpdatedAt did not go back
    And its list entry agrees with it
    When I send the same request again
    Then its version is 2
    When I send the same request again with this spec:
      """
      {}
      """
    Then the request fails with ConflictException
    When I send DeleteVirtualNode with this input:
      """
      {"meshName": "${mesh}", "virtualNodeName": "vn"}
      """
    Then the request succeeds as documented
    And its status is DELETED
    And it is gone

  Scenario: Tags are added, replaced and removed, and a resource holds at most 50
    Given a fresh mesh
    When I send CreateVirtualNode with this input:
      """
      {"meshName": "${mesh}", "virtualNodeName": "tagged", "spec": {}, "tags": [{"key": "a", "value": "1"}]}
      """
    Then the request is accepted
    When I send TagResource with this input:
      """
      {"resourceArn": "${arn}", "tags": [{"key": "a", "value": "2"}, {"key": "b", "value": "3"}]}
      """
    Then the request succeeds as documented
    And its tags are:
      | key | value |
      | a   | 2     |
      | b   | 3     |
    When I send UntagResource with this input:
      """
      {"resourceArn": "${arn}", "tagKeys": ["a", "b"]}
      """
    Then the request succeeds as documented
    And its tags are:
      | key | value |
    When I tag it with 50 new tags
    Then the request is accepted
    When I tag it with 1 new tag
    Then tags past 50 on the resource are TooManyTagsException, where the target counts them
    When I tag it with 51 new tags
    Then the request fails with BadRequestException or TooManyTagsException
