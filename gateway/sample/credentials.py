"""The demo principals' passwords (public demo credentials, matching rules/customers.yaml)."""

from __future__ import annotations

# principal -> (password, purposes it may declare); never use these outside the demo.
DEMO_PRINCIPALS: dict[str, tuple[str, tuple[str, ...]]] = {
    "crm_app": ("crm-demo", ("customer_service",)),
    "marketing_tool": ("marketing-demo", ("marketing",)),
    "risk_analyst": ("risk-demo", ("risk_control", "customer_service")),
}
