@auth @requires:auth-enforced @op:CreateVirtualNode
Feature: CreateVirtualNode refuses requests that are not correctly signed
  App Mesh authenticates every request with AWS Signature Version 4. A request with no signature,
  or with one that does not match the request, the secret key, the service or the time, is
  refused with 403 and an AWS authentication error code, and it creates nothing. These scenarios
  run when the target profile says the target enforces signatures (the default).

  Background:
    Given a fresh mesh

  Scenario Outline: A request with <defect> is refused and creates nothing
    When I send CreateVirtualNode with <defect>:
      """
      {
        "meshName": "${mesh}",
        "virtualNodeName": "unauthenticated-vn",
        "spec": { "listeners": [ { "portMapping": { "port": 9080, "protocol": "http" } } ] }
      }
      """
    Then the request is refused as unauthenticated
    And nothing was created

    Examples:
      | defect                          |
      | no signature                    |
      | a wrong secret key              |
      | a signature for another service |
      | the body changed after signing  |
      | a stale X-Amz-Date              |
