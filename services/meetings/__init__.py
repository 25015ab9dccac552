"""Meetings, review opinions and county–township joint inspections (县乡联动)."""
