// Reports: see JUnitWriter.
