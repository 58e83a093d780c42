"""Pure rules, no Flask, SQLAlchemy or marshmallow imports here: grouped by capability
(``figures``, ``transfers``), beside the rules they share (consent validity, the audit chain,
outcome frameworks, vocabulary, text, the clock) and the one module of errors (``errors``)."""
