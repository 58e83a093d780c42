"""Pure rules: no Flask, SQLAlchemy or marshmallow imports here."""
