"""The workbench's pages: one module per role's queue, plus the meetings and the shared frame."""
