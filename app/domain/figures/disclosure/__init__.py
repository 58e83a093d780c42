"""Disclosure control of a release (DESIGN.md section 7): what a release is made of (``model``),
primary suppression and rounding (``rules``), the attacker's view of each suppressed cell
(``audit``, solved by ``lp``) and the protector that puts them together (``control``)."""
