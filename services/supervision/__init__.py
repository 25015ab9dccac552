"""The county–township joint-supervision view: read models over all four streams and the dashboard."""
