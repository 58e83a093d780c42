"""The fixed lists case records are recorded against (DESIGN.md section 2).

Categories stay in clear in the database so figures can be counted in SQL (section 7); each is a
``StrEnum`` whose values are what is stored and whose ``label`` is what staff read.
"""

from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    """A stored value with the words staff see for it."""

    @property
    def label(self) -> str:
        return _LABELS.get(self, self.value.replace("_", " ").capitalize())


class ReferralSource(Labelled):
    OFFENDER_MANAGER = "offender_manager"
    SELF = "self"
    PRISON_STAFF = "prison_staff"
    CHILDRENS_SERVICES = "childrens_services"
    SCHOOL = "school"
    OTHER_AGENCY = "other_agency"


class Need(Labelled):
    LICENCE_CONDITIONS = "licence_conditions"
    CHILD_CONCERN = "child_concern"
    HOUSING = "housing"
    FINANCE = "finance"
    EMOTIONAL_WELLBEING = "emotional_wellbeing"
    COMMUNITY_LINKS = "community_links"
    FAMILY_CONTACT = "family_contact"
    VISITS = "visits"
    RELEASE = "release"


class ContactKind(Labelled):
    VISIT = "visit"
    ONE_TO_ONE = "one_to_one"
    PHONE = "phone"
    FAMILY_DAY = "family_day"
    REFERRAL_OUT = "referral_out"


class MemberKind(Labelled):
    ADULT = "adult"
    CHILD = "child"


class Relationship(Labelled):
    """The family member's relationship to the person in custody."""

    PARTNER = "partner"
    PARENT = "parent"
    CHILD = "child"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    SIBLING = "sibling"
    CARER = "carer"
    OTHER_RELATIVE = "other_relative"
    FRIEND = "friend"


class AgeBand(Labelled):
    """For children whose date of birth is not given, and for figures."""

    UNDER_5 = "0-4"
    FROM_5_TO_10 = "5-10"
    FROM_11_TO_15 = "11-15"
    FROM_16_TO_17 = "16-17"


class ClosureReason(Labelled):
    OUTCOMES_MET = "outcomes_met"
    FAMILY_WITHDREW = "family_withdrew"
    NO_CONTACT = "no_contact"
    RELEASED = "released"
    MOVED_PRISON = "moved_prison"
    REFERRED_ON = "referred_on"
    OTHER = "other"


class ActionStatus(Labelled):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class ActionOwner(Labelled):
    FAMILY = "family"
    WORKER = "worker"
    PARTNER_AGENCY = "partner_agency"


# Equality monitoring (kept apart from the case file; DESIGN.md section 2).
class Ethnicity(Labelled):
    """The ONS 2021 census ethnic groups (England and Wales), plus not stated."""

    ASIAN_BANGLADESHI = "asian_bangladeshi"
    ASIAN_CHINESE = "asian_chinese"
    ASIAN_INDIAN = "asian_indian"
    ASIAN_PAKISTANI = "asian_pakistani"
    ASIAN_OTHER = "asian_other"
    BLACK_AFRICAN = "black_african"
    BLACK_CARIBBEAN = "black_caribbean"
    BLACK_OTHER = "black_other"
    MIXED_WHITE_ASIAN = "mixed_white_asian"
    MIXED_WHITE_BLACK_AFRICAN = "mixed_white_black_african"
    MIXED_WHITE_BLACK_CARIBBEAN = "mixed_white_black_caribbean"
    MIXED_OTHER = "mixed_other"
    WHITE_BRITISH = "white_british"
    WHITE_IRISH = "white_irish"
    WHITE_GYPSY_TRAVELLER = "white_gypsy_traveller"
    WHITE_ROMA = "white_roma"
    WHITE_OTHER = "white_other"
    OTHER_ARAB = "other_arab"
    OTHER_ANY = "other_any"
    NOT_STATED = "not_stated"


class Sex(Labelled):
    FEMALE = "female"
    MALE = "male"
    NOT_STATED = "not_stated"


class Disability(Labelled):
    YES = "yes"
    NO = "no"
    NOT_STATED = "not_stated"


# Consent (DESIGN.md section 5).
class ConsentSubject(Labelled):
    PERSON_IN_CUSTODY = "person_in_custody"
    FAMILY_MEMBER = "family_member"


class ConsentPurpose(Labelled):
    CONTACT = "contact"
    TRANSFER = "transfer"
    STATISTICS = "statistics"


class ConsentDecision(Labelled):
    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class ConsentMethod(Labelled):
    VERBAL = "verbal"
    WRITTEN = "written"
    DIGITAL = "digital"


class ConsentVerification(Labelled):
    IN_PERSON_ID_SEEN = "in_person_id_seen"
    SIGNED_FORM = "signed_form"
    CALL_BACK = "call_back"
    WITNESSED = "witnessed"
    NONE = "none"


class DataCategory(Labelled):
    """What a consent lets travel or be used: the unit a transfer offer is cut to."""

    IDENTITY = "identity"
    CONTACT_DETAILS = "contact_details"
    CHILDREN = "children"
    NEEDS = "needs"
    CONTACTS = "contacts"
    ASSESSMENTS = "assessments"
    ACTION_PLAN = "action_plan"
    NOTES = "notes"


_LABELS: dict[StrEnum, str] = {
    ReferralSource.OFFENDER_MANAGER: "Offender manager",
    ReferralSource.SELF: "Self-referral",
    ReferralSource.PRISON_STAFF: "Prison staff",
    ReferralSource.CHILDRENS_SERVICES: "Children's services",
    ReferralSource.SCHOOL: "School",
    ReferralSource.OTHER_AGENCY: "Other agency",
    Need.CHILD_CONCERN: "Child concern or child in need",
    Need.FINANCE: "Finance, debt and benefits",
    Need.FAMILY_CONTACT: "Maintaining family contact",
    Need.RELEASE: "Preparing for release",
    ContactKind.VISIT: "Visitor-centre visit",
    ContactKind.ONE_TO_ONE: "One-to-one support",
    ContactKind.PHONE: "Phone call",
    ContactKind.REFERRAL_OUT: "Referral to a community agency",
    AgeBand.UNDER_5: "Under 5",
    AgeBand.FROM_5_TO_10: "5 to 10",
    AgeBand.FROM_11_TO_15: "11 to 15",
    AgeBand.FROM_16_TO_17: "16 or 17",
    ActionOwner.PARTNER_AGENCY: "Partner agency",
    Ethnicity.ASIAN_BANGLADESHI: "Asian, Asian British or Asian Welsh: Bangladeshi",
    Ethnicity.ASIAN_CHINESE: "Asian, Asian British or Asian Welsh: Chinese",
    Ethnicity.ASIAN_INDIAN: "Asian, Asian British or Asian Welsh: Indian",
    Ethnicity.ASIAN_PAKISTANI: "Asian, Asian British or Asian Welsh: Pakistani",
    Ethnicity.ASIAN_OTHER: "Asian, Asian British or Asian Welsh: other Asian background",
    Ethnicity.BLACK_AFRICAN: "Black, Black British, Black Welsh, Caribbean or African: African",
    Ethnicity.BLACK_CARIBBEAN: "Black, Black British, Black Welsh, Caribbean or African: Caribbean",
    Ethnicity.BLACK_OTHER: "Black, Black British, Black Welsh, Caribbean or African: other",
    Ethnicity.MIXED_WHITE_ASIAN: "Mixed or multiple ethnic groups: White and Asian",
    Ethnicity.MIXED_WHITE_BLACK_AFRICAN: "Mixed or multiple ethnic groups: White and Black African",
    Ethnicity.MIXED_WHITE_BLACK_CARIBBEAN: (
        "Mixed or multiple ethnic groups: White and Black Caribbean"
    ),
    Ethnicity.MIXED_OTHER: "Mixed or multiple ethnic groups: other",
    Ethnicity.WHITE_BRITISH: "White: English, Welsh, Scottish, Northern Irish or British",
    Ethnicity.WHITE_IRISH: "White: Irish",
    Ethnicity.WHITE_GYPSY_TRAVELLER: "White: Gypsy or Irish Traveller",
    Ethnicity.WHITE_ROMA: "White: Roma",
    Ethnicity.WHITE_OTHER: "White: other White background",
    Ethnicity.OTHER_ARAB: "Other ethnic group: Arab",
    Ethnicity.OTHER_ANY: "Other ethnic group: any other",
    ConsentSubject.PERSON_IN_CUSTODY: "Person in custody",
    ConsentPurpose.CONTACT: "Contact the family and support them",
    ConsentPurpose.TRANSFER: "Share with a named charity for a transfer",
    ConsentPurpose.STATISTICS: "Use in anonymised statistics",
    ConsentVerification.IN_PERSON_ID_SEEN: "In person, identity seen",
    ConsentVerification.CALL_BACK: "Called back on a known number",
    ConsentVerification.NONE: "Not verified",
}


def sql_in(values: type[StrEnum]) -> str:
    """A CHECK constraint's list of every stored value of ``values``."""
    return ", ".join(f"'{member.value}'" for member in values)
