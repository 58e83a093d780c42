"""The transfer of a family's case between charities as pure rules (DESIGN.md sections 5 and 6):
the state machine of its steps (``machine``) and the consent gate that says what may go
(``consent_gate``)."""
