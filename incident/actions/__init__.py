"""Playbook step types: one module per action, looked up by type name."""

from __future__ import annotations

import importlib

from incident.actions.base import Action

# step type -> module:class. Modules are imported on first use.
ACTIONS: dict[str, str] = {
    "contain.block_principal": "incident.actions.block_principal:BlockPrincipal",
    "contain.freeze_purpose": "incident.actions.freeze_purpose:FreezePurpose",
    "contain.terminate_upstream": "incident.actions.terminate_upstream:TerminateUpstream",
    "contain.revoke_role": "incident.actions.revoke_role:RevokeRole",
    "evidence.snapshot": "incident.actions.evidence_snapshot:EvidenceSnapshot",
    "assess.affected": "incident.actions.assess_affected:AssessAffected",
    "notify.security": "incident.actions.notify_security:NotifySecurity",
    "notify.internal": "incident.actions.notify_internal:NotifyInternal",
    "notify.regulator": "incident.actions.notify_regulator:NotifyRegulator",
    "notify.customers": "incident.actions.notify_customers:NotifyCustomers",
}


def get(step_type: str) -> Action:
    """An instance of the action for `step_type`; KeyError names unknown types."""
    try:
        target = ACTIONS[step_type]
    except KeyError:
        raise KeyError(f"unknown step type {step_type!r}") from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)()
