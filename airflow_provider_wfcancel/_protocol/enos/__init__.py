"""The EnOS Batch Processing Service v2.1 behind the EnOS API gateway (APIM), as plain functions:
:mod:`.signing` (token-request encryption, request signatures), :mod:`.tokens` (the process-wide access
token cache), :mod:`.responses` (statuses, error codes, what an answer means) and :mod:`.exchanges` (the
calls, from settings to token renewal and re-authentication)."""
