"""Pure domain of the suggestions context: events, aggregates, rules, rates. No I/O."""
