"""The test suite (CONTRIBUTING.md#tests): make test, make test-fast."""
