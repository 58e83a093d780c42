"""Who may sign in, and how: staff accounts, the two sign-in steps, lockout, passwords, sessions
and API tokens (``accounts``); a charity admin managing the charity's own staff (``staff``); and
the ministry's API clients and their access tokens (``oauth_clients``).
"""
