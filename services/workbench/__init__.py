"""The workbench: the pages in which clerks, organizer units and deputies do their work (PC and phone)."""
