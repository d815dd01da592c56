"""One analysis module per chapter: its tables, figure data, glued values and claim rows."""
