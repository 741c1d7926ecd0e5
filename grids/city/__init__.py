"""The city: its administrative units and their hierarchy, people, rosters, categories.

Entry points: ``hierarchy.import_units``, ``people.import_people``, ``taxonomy.load_taxonomy``,
``directory.Directory`` (the hierarchy in memory), ``dispatch`` (who handles a point at a
time) and ``locator.GridLocator`` (a point → its grid, path and officer on duty).
"""
