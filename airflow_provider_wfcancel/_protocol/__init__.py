"""The protocol layer: what Domo and EnOS say and mean, as plain functions with no I/O.

Statuses, authentication headers, request builders, response classification, and every multi-step
exchange (cancel, then look up a refusal; get a token, sign, re-authenticate once) written once as a
generator of steps (:mod:`.exchange`). A hook drives an exchange with its sync or async transport; a test
drives it with a list of answers.
"""
