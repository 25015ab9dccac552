"""The figures of domain.md "Exact definitions", pure functions over plain records: one definition shared by
the context that owns the facts (its own figures endpoints) and the joint-supervision view."""
