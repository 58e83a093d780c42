"""The Ministry's quarterly figures (DESIGN.md section 7): charities sign off their quarter
(``sign_offs``), the coordinator builds, publishes and revises a release (``releases``) from the
catalogue's counts, taken charity by charity through the walls (``metrics``: who is counted,
``population``, and each table's aggregate query, ``tables``).

What a signed-off quarter locks is enforced on every session, below the use cases
(app.db.quarter_lock); the rules the figures obey are app.domain.figures.
"""
