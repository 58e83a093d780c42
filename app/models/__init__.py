"""Every model, imported here so the metadata is complete wherever ``app.models`` is imported."""

from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.cases import Case, CaseStatus
from app.models.keys import DataKeyRecord
from app.models.people import ApiToken, User, UserPrison
from app.models.reference import Organisation, Prison, Service

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Case",
    "CaseStatus",
    "DataKeyRecord",
    "Organisation",
    "Prison",
    "Service",
    "User",
    "UserPrison",
]
