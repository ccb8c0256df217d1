"""Intake: mail in. The SMTP listener and IMAP pollers, the durable store of what they
receive (rows first, then the raw store), and the parser that turns bytes into ParsedMail."""
