"""The request's vault: field encryption with the charities' keys, for one request."""

from __future__ import annotations

from flask import current_app, g

from app.services.platform.vault import Vault, vault_for
from tenants.flask import tenant_session


def request_vault() -> Vault:
    if "vault" not in g:
        g.vault = vault_for(tenant_session(), current_app.extensions["continuum"].root_key)
    return g.vault
