"""The pure domain of meetings: events, aggregates, quorum arithmetic and compliance facts."""
