"""Operator commands: one module per group of `appeals` subcommands. Each calls the domain
(routing.lifecycle and friends) inside a transaction of its own; none writes rows directly."""
