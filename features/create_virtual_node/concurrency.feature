@idempotency @concurrency @op:CreateVirtualNode
Feature: A client token holds under concurrent requests
  Retries race. Many copies of one request with one client token, sent at once, create exactly
  one virtual node and all return it; different requests with one token at once let exactly one
  win and the others conflict.

  Background:
    Given a fresh mesh

  Scenario: 20 copies of one request with one token at once create one virtual node
    When I send 20 copies of one request with one client token at once
    Then every answer is the same virtual node
    And the mesh holds exactly 1 virtual node

  Scenario: 20 different requests with one token at once: one wins, the others conflict
    When I send 20 different requests with one client token at once
    Then exactly one answer is a success and the others are ConflictException
    And the mesh holds exactly 1 virtual node
