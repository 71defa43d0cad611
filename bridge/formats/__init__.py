"""Local container formats: one module per format behind one small interface."""
