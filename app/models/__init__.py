"""Every model, imported here so the metadata is complete wherever ``app.models`` is imported."""

from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.cases import Case, CaseNeed, CaseStatus
from app.models.casework import ActionItem, CaseNote, Contact, OutcomeAssessment, OutcomeScore
from app.models.consent import ConsentRecord
from app.models.families import EqualityMonitoring, Family, FamilyMember, PersonInCustody
from app.models.keys import DataKeyRecord
from app.models.oauth import OAuthClient, OAuthToken
from app.models.people import ApiToken, User, UserPrison, WebSession
from app.models.reference import Organisation, Prison, Service
from app.models.releases import QuarterSignOff, Release, ReleaseProtection
from app.models.transfers import CaseTransfer, CaseTransferStep, Notification, TransferOffer

__all__ = [
    "ActionItem",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Case",
    "CaseNeed",
    "CaseNote",
    "CaseStatus",
    "CaseTransfer",
    "CaseTransferStep",
    "ConsentRecord",
    "Contact",
    "DataKeyRecord",
    "EqualityMonitoring",
    "Family",
    "FamilyMember",
    "Notification",
    "OAuthClient",
    "OAuthToken",
    "Organisation",
    "OutcomeAssessment",
    "OutcomeScore",
    "PersonInCustody",
    "Prison",
    "QuarterSignOff",
    "Release",
    "ReleaseProtection",
    "Service",
    "TransferOffer",
    "User",
    "UserPrison",
    "WebSession",
]
