"""dcn-checks: conformance checks for OpenStack DCN deployments with distributed multibackend storage."""

__version__ = "0.1.0"
