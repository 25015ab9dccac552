"""Notify: notifications of every assignment, deadline, overdue reply and meeting, exactly once."""
