@throttling @serial @op:CreateVirtualNode
Feature: CreateVirtualNode under a burst of requests
  A burst is sent open-loop (request i at start + i/rate, bounded in count and time). Whatever the
  target does under load, every answer is a documented success or error, a throttled request is
  exactly 429 TooManyRequestsException with a JSON message, and it has no side effect. When the
  target profile declares the rate it throttles above, a burst at four times that rate must be
  throttled, and a client that backs off gets through again.

  Background:
    Given a fresh mesh

  Scenario: Under a burst every answer is documented and throttling has no side effect
    When I send a burst of creates faster than the target is expected to throttle
    Then every answer is a documented success or error
    And every throttled answer is 429 TooManyRequestsException with a JSON message
    And the mesh holds as many virtual nodes as the burst had successes

  @requires:throttle-rps
  Scenario: A burst above the declared rate is throttled, and backing off recovers
    When I send a burst of creates faster than the target is expected to throttle
    Then at least one answer was throttled
    And every throttled answer is 429 TooManyRequestsException with a JSON message
    And the mesh holds as many virtual nodes as the burst had successes
    When I back off
    Then a create succeeds again

  @requires:max-rps
  Scenario: The harness's own traffic stays within --max-rps
    When I send a burst of creates faster than the target is expected to throttle
    Then the harness sent no faster than its --max-rps
    And the mesh holds as many virtual nodes as the burst had successes
