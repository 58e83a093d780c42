"""The Ministry's figures as pure rules (DESIGN.md section 7): the periods they are counted over
(``periods``), the tables they fill (``catalogue``), disclosure control (``disclosure``) and a
release made of them (``release``: the draft, the published document, its CSV file, a figure's
trend across quarters)."""
