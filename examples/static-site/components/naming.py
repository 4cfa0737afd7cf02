"""Acme's naming rule for every resource: <team>-<stack>-<role>."""
import pulumi

TEAM = "acme"


def resource_name(role: str) -> str:
    return f"{TEAM}-{pulumi.get_stack()}-{role}"
