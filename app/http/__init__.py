"""What the web interface and the API share, and neither owns: the deny-by-default gate, the
security headers, the error envelopes, and what a request hands a use case (its origin, its
vault, the app's settings). Nothing here imports app.web or app.api; each registers its own
authenticator with the gate (app.http.gate).
"""
