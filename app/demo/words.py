"""The words of the demo's synthetic histories: names from small lists and short plausible
sentences with the family's first names filled in (``{contact}``, ``{child}``, ``{parent}``).

Surnames avoid the demo staff's and the prisons' towns, so a check for names stored in clear
never matches reference data.
"""

from __future__ import annotations

from app.domain.vocabulary import (
    ActionOwner,
    ConsentMethod,
    ConsentVerification,
    ContactKind,
    DataCategory,
    Ethnicity,
    Need,
)


def _names(text: str) -> tuple[str, ...]:
    """A list of names written as text: easier to read and extend than one name a line."""
    return tuple(text.split())


MEN = _names(
    "Daniel Liam Connor Jamal Ryan Kieran Tyler Aaron Dean Marcus Shane Callum Jordan Nathan "
    "Wayne Darren Reece Kyle Tomasz Imran Kwame Stuart Gary Mohammed"
)
WOMEN = _names(
    "Sarah Leanne Chloe Jade Amira Kelly Gemma Nicola Stacey Aisha Donna Michelle Tanya Emma "
    "Zoe Hayley Laura Precious Joanne Marta Bernadette Yvonne"
)
CHILDREN = _names(
    "Ava Mia Leo Noah Ruby Alfie Isla Freddie Poppy Oscar Maisie Harley Lily Jayden Amelia "
    "Archie Esme Mason Nia Theo Zara Ellis Tia Rocco"
)
# The children's names above given as boys' (the rest are girls'), for the sex a member states.
BOYS = frozenset(_names("Leo Noah Alfie Freddie Oscar Harley Jayden Archie Mason Theo Ellis Rocco"))
SURNAMES = _names(
    "Ashworth Barlow Brennan Carney Dolan Eastwood Fairclough Gallagher Hennessy Igwe "
    "Jennings Kowalski Lomax Mahmood Nolan Okonjo Pennington Quinlan Rafferty Sutcliffe "
    "Thornley Unsworth Varley Whitfield Yates Zielinski Begum Mensah Costello Doherty "
    "Hussain McAllister"
)

CONTACT_WORDS: dict[ContactKind, tuple[str, ...]] = {
    ContactKind.VISIT: (
        "{contact} came in early for the visit and was anxious; went through what to expect.",
        "Visit went well. {contact} says {child} is sleeping better since seeing {parent}.",
        "Short chat with {contact} after the visit; asked about the next family day.",
        "{contact} visited with {child}; the search upset {child} a little, settled with toys.",
    ),
    ContactKind.PHONE: (
        "Rang {contact} to check in after the visit; no new worries.",
        "{contact} rang about a cancelled visit; helped rebook it for next week.",
        "Call with {contact} about money for travel to visits; booked a one-to-one.",
        "{contact} phoned, upset after a difficult call with {parent}; talked it through.",
    ),
    ContactKind.ONE_TO_ONE: (
        "One-to-one with {contact}: talked about what to tell {child} about {parent}.",
        "Met {contact} at the centre and went through the action plan together.",
        "Session with {contact} about plans for release and where the family will live.",
    ),
    ContactKind.FAMILY_DAY: (
        "Family day: {contact} and {child} came; {child} loved the craft table.",
        "{contact} brought {child} to the family day; good time together with {parent}.",
    ),
}
FIRST_CALL = "Referral received; rang {contact} to introduce the service and arrange to meet."
FIRST_VISIT = "{contact}'s first visit: showed them round the centre and explained the search."
REFERRAL_OUT = "Referred {contact} to {agency}."
AGENCIES: dict[Need, str] = {
    Need.HOUSING: "the council's housing options team for housing advice",
    Need.FINANCE: "Citizens Advice for help with benefits and debt",
    Need.EMOTIONAL_WELLBEING: "the local talking therapies service",
    Need.CHILD_CONCERN: "the school's family support worker",
    Need.COMMUNITY_LINKS: "a local group for families of people in prison",
    Need.LICENCE_CONDITIONS: "the probation practitioner about licence conditions",
    Need.RELEASE: "the resettlement team to plan for release",
}
ACTIONS: dict[Need, tuple[str, ActionOwner]] = {
    Need.VISITS: ("Book {contact}'s next visit and send the visitor guide", ActionOwner.WORKER),
    Need.FAMILY_CONTACT: (
        "{contact} to set up phone credit so {child} can talk to {parent}",
        ActionOwner.FAMILY,
    ),
    Need.FINANCE: ("{contact} to apply for help with the cost of visits", ActionOwner.FAMILY),
    Need.HOUSING: ("Refer {contact} for housing advice before release", ActionOwner.WORKER),
    Need.EMOTIONAL_WELLBEING: ("{contact} to see the GP about feeling low", ActionOwner.FAMILY),
    Need.CHILD_CONCERN: (
        "Talk to {child}'s school about support, with {contact}'s agreement",
        ActionOwner.WORKER,
    ),
    Need.COMMUNITY_LINKS: ("Give {contact} details of the families group", ActionOwner.WORKER),
    Need.LICENCE_CONDITIONS: (
        "Probation to confirm licence conditions about contact with {contact}",
        ActionOwner.PARTNER_AGENCY,
    ),
    Need.RELEASE: ("Plan the first week after release with {contact}", ActionOwner.WORKER),
}
FIRST_NOTE = "Referral from {source}. {contact} is the main contact; {children}."
NOTES = (
    "{contact} said things are calmer at home. Next review booked.",
    "Reviewed the case with {contact}; scores up in most areas since the first assessment.",
    "{contact} worried about {child} at school; agreed to talk again next week.",
)
SAFEGUARDING_NOTE = "Safeguarding: talked to the site manager about {child}; referral recorded."
CLOSING_NOTE = "Closing the case ({reason}); {contact} knows how to get back in touch."
CONSENT_WAYS = (
    (ConsentMethod.WRITTEN, ConsentVerification.SIGNED_FORM),
    (ConsentMethod.VERBAL, ConsentVerification.IN_PERSON_ID_SEEN),
    (ConsentMethod.VERBAL, ConsentVerification.CALL_BACK),
    (ConsentMethod.DIGITAL, ConsentVerification.CALL_BACK),
)
STATISTICS = frozenset({DataCategory.NEEDS, DataCategory.CONTACTS, DataCategory.ASSESSMENTS})

# Equality monitoring: the ethnic groups in the proportions of the 2021 census for England and
# Wales (per cent of usual residents, ONS table TS021), and about 3 in 100 who prefer not to say.
ETHNICITIES: dict[Ethnicity, float] = {
    Ethnicity.WHITE_BRITISH: 74.4,
    Ethnicity.WHITE_IRISH: 0.9,
    Ethnicity.WHITE_GYPSY_TRAVELLER: 0.1,
    Ethnicity.WHITE_ROMA: 0.2,
    Ethnicity.WHITE_OTHER: 6.2,
    Ethnicity.MIXED_WHITE_BLACK_CARIBBEAN: 0.9,
    Ethnicity.MIXED_WHITE_BLACK_AFRICAN: 0.4,
    Ethnicity.MIXED_WHITE_ASIAN: 0.8,
    Ethnicity.MIXED_OTHER: 0.7,
    Ethnicity.ASIAN_INDIAN: 3.1,
    Ethnicity.ASIAN_PAKISTANI: 2.7,
    Ethnicity.ASIAN_BANGLADESHI: 1.1,
    Ethnicity.ASIAN_CHINESE: 0.7,
    Ethnicity.ASIAN_OTHER: 1.6,
    Ethnicity.BLACK_AFRICAN: 2.5,
    Ethnicity.BLACK_CARIBBEAN: 1.0,
    Ethnicity.BLACK_OTHER: 0.5,
    Ethnicity.OTHER_ARAB: 0.6,
    Ethnicity.OTHER_ANY: 1.6,
    Ethnicity.NOT_STATED: 3.0,
}
ENGLISH = "English"
# First languages other than English, with the share of an ethnic group who give each (the rest
# give English): a rough, plausible spread, not a statistic.
OTHER_LANGUAGES: dict[Ethnicity, tuple[tuple[str, float], ...]] = {
    Ethnicity.WHITE_BRITISH: (("Welsh", 0.02),),
    Ethnicity.WHITE_OTHER: (("Polish", 0.4), ("Romanian", 0.25)),
    Ethnicity.WHITE_ROMA: (("Romanian", 0.6),),
    Ethnicity.ASIAN_PAKISTANI: (("Urdu", 0.3), ("Punjabi", 0.15)),
    Ethnicity.ASIAN_INDIAN: (("Punjabi", 0.25),),
    Ethnicity.OTHER_ARAB: (("Arabic", 0.6),),
}

# Transfers between charities (app.demo.transfer_stories).
TRANSFERRED_IN_NOTE = (
    "Case came over from POPS with the family's consent. Met {contact} to agree how we carry on."
)
# The walk-through family's own words: Daniel Whitfield at HMP Risley, moved to HMP Durham.
WALK_THROUGH = {
    "referral call": (
        "Referral from the prison's family engagement team; rang Leanne to introduce the service."
    ),
    "first visit": "Leanne's first visit with Ruby: showed them round the centre and the search.",
    "one-to-one": "One-to-one with Leanne: talked about what to tell Ruby about where her dad is.",
    "family day": "Family day: Leanne and Ruby came; Ruby made her dad a card at the craft table.",
    "grandmother's call": (
        "Yvonne rang from Durham: the journey to Risley takes her most of a day; talked about "
        "help with the cost of visits."
    ),
    "visit": "Visit went well. Leanne says Ruby is sleeping better since seeing her dad.",
    "the move": (
        "Leanne rang: Daniel has been told he is moving to HMP Durham, near his mum; she wants "
        "the support to carry on there."
    ),
    "referral note": "Referral from the prison. Leanne is the main contact; Ruby (7) is at home.",
    "travel note": (
        "Yvonne (Daniel's mum) lives near Durham and has Ruby some weekends; the cost of travel "
        "worries them both."
    ),
    "transfer note": (
        "Daniel moved to HMP Durham. Went through with Leanne what a transfer to NEPACS would "
        "share; she wants to talk to Yvonne before agreeing."
    ),
    "travel costs action": "Leanne to apply for help with the cost of visits",
    "Durham action": "Give Leanne the details of the visitors' centre at HMP Durham",
}
