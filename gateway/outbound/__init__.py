"""Outbound: mail out. Rendering notices into messages (notify), the transactional outbox
and its sender (outbox), and the transports that hand messages on (transport)."""
