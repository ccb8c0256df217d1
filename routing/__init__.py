"""Domain decisions of the appeal gateway: screening, reply matching, registration,
deadlines, routing and reminders. No sockets, no SMTP, no template rendering here."""
