"""What every capability stands on, run by the platform rather than any one charity: the audit
log's chains (``audit``), the charities' data keys in the database (``keys``), sealing and opening
a row's encrypted fields (``vault``), and the reference data of prisons, organisations and who
serves which prison (``reference``).
"""
