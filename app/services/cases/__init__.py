"""A charity's work with families (DESIGN.md sections 2 to 5): opening a case (``referrals``, or a
whole file of them, ``imports``), the case list, one case and closing it (``cases``), the day's
work on it (``casework``), the family page (``family_file``, read in one statement by
``family_records``), consent and its withdrawal (``consents``, ``consent_withdrawal``), equality
monitoring (``equality``), finding a family (``search``), a worker's home page (``caseload``),
who may be a key worker (``key_workers``), who looked at a family (``access_log``) and a
manager's and an admin's oversight (``oversight``).

Every one of them starts from ``scope``: the permission, the case within the walls, and its audit
event.
"""
